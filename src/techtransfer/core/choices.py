from django.db import models
from django.utils.translation import gettext_lazy as _


class RecordStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("待审核")
    RETURNED = "returned", _("已退回")
    APPROVED = "approved", _("审核通过")
    PUBLISHED = "published", _("已发布")
    WITHDRAWN = "withdrawn", _("已撤回")


class WorkflowAction(models.TextChoices):
    SUBMIT = "submit", _("提交审核")
    APPROVE = "approve", _("审核通过")
    RETURN = "return", _("退回修改")
    PUBLISH = "publish", _("发布")
    WITHDRAW = "withdraw", _("撤回")


class HighTechField(models.TextChoices):
    """国家重点支持的高新技术领域 (the eight fields of the 高新技术企业认定管理办法 annex)."""

    ELECTRONIC_INFORMATION = "electronic_information", _("电子信息")
    BIO_MEDICINE = "bio_medicine", _("生物与新医药")
    AEROSPACE = "aerospace", _("航空航天")
    NEW_MATERIALS = "new_materials", _("新材料")
    HIGH_TECH_SERVICES = "high_tech_services", _("高技术服务")
    NEW_ENERGY = "new_energy", _("新能源与节能")
    RESOURCES_ENVIRONMENT = "resources_environment", _("资源与环境")
    ADVANCED_MANUFACTURING = "advanced_manufacturing", _("先进制造与自动化")


class CooperationMode(models.TextChoices):
    """Ways a result changes hands (促进科技成果转化法 第十六条) plus joint development."""

    TRANSFER = "transfer", _("转让")
    LICENSE = "license", _("许可")
    EQUITY = "equity", _("作价投资")
    CO_DEVELOPMENT = "co_development", _("合作开发")
