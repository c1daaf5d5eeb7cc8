from django.db import models
from django.utils.translation import gettext_lazy as _


class OrganizationKind(models.TextChoices):
    UNIVERSITY = "university", _("高校")
    RESEARCH_INSTITUTE = "research_institute", _("科研院所")
    ENTERPRISE = "enterprise", _("企业")
    SERVICE_PROVIDER = "service_provider", _("服务机构")
    GOVERNMENT = "government", _("政府部门")
    FINANCIAL_INSTITUTION = "financial_institution", _("金融机构")
    FUND = "fund", _("投资基金")


class MembershipRole(models.TextChoices):
    ADMIN = "admin", _("单位管理员")
    MEMBER = "member", _("单位成员")


class CertificationKind(models.TextChoices):
    HIGH_TECH_ENTERPRISE = "high_tech_enterprise", _("高新技术企业")
    TECH_SME = "tech_sme", _("科技型中小企业")
    SPECIALIZED = "specialized", _("专精特新")
