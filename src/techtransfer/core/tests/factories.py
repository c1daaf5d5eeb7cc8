"""factory_boy factories for every model tests create. Regions come from the loaded tree."""

import factory
from factory.django import DjangoModelFactory

from techtransfer.accounts.models import RoleAssignment, User
from techtransfer.achievements.models import Achievement
from techtransfer.demands.models import Demand
from techtransfer.experts.models import Commissioner, Expert
from techtransfer.instruments.models import Instrument
from techtransfer.organizations.models import Membership, Organization
from techtransfer.pilotbases.models import PilotBase
from techtransfer.regions.models import Region

PASSWORD = "Correct-Horse-42"


def region(code: str) -> Region:
    return Region.objects.get(code=code)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"用户{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class RoleFactory(DjangoModelFactory):
    class Meta:
        model = RoleAssignment

    user = factory.SubFactory(UserFactory)
    role = "scout"


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"示例企业{n}有限公司")
    kind = "enterprise"
    region = factory.LazyFunction(lambda: region("340603"))
    contact_name = "张工"
    contact_phone = "13912345678"
    contact_email = "contact@example.com"


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = "member"


class RecordFactory(DjangoModelFactory):
    class Meta:
        abstract = True

    organization = factory.SubFactory(OrganizationFactory)
    region = factory.LazyAttribute(lambda r: r.organization.region if r.organization else None)
    status = "draft"
    contact_name = "李老师"
    contact_phone = "13800001111"
    contact_email = "li@example.com"


class AchievementFactory(RecordFactory):
    class Meta:
        model = Achievement

    title = factory.Sequence(lambda n: f"陶铝新材料制备技术{n}")
    abstract = "一种陶瓷颗粒增强铝基复合材料的原位制备方法。"
    keywords = factory.LazyFunction(lambda: ["陶铝", "复合材料"])
    kind = "applied"
    stage = "mature"
    readiness_level = 6
    high_tech_field = "new_materials"
    transfer_modes = ",transfer,license,"


class DemandFactory(RecordFactory):
    class Meta:
        model = Demand

    title = factory.Sequence(lambda n: f"锂离子电池正极材料技术需求{n}")
    description = "需要提高磷酸铁锂正极材料的压实密度。"
    fields = ",new_energy,"
    cooperation_modes = ",co_development,"


class ExpertFactory(RecordFactory):
    class Meta:
        model = Expert

    name = factory.Sequence(lambda n: f"专家{n}")
    expertise = "特种机器人控制"
    fields = ",advanced_manufacturing,"


class CommissionerFactory(RecordFactory):
    class Meta:
        model = Commissioner

    name = factory.Sequence(lambda n: f"特派员{n}")
    expertise = "煤化工工艺优化"


class InstrumentFactory(RecordFactory):
    class Meta:
        model = Instrument

    name = factory.Sequence(lambda n: f"场发射扫描电子显微镜{n}")
    category = "analytical"
    model_number = "SU8010"
    maker = "日立"


class PilotBaseFactory(RecordFactory):
    class Meta:
        model = PilotBase

    name = factory.Sequence(lambda n: f"绿色化工材料中试基地{n}")
    capabilities = "百吨级连续化中试线"
    level = "municipal"


REGISTRY_FACTORIES = {
    "achievement": AchievementFactory,
    "demand": DemandFactory,
    "expert": ExpertFactory,
    "commissioner": CommissionerFactory,
    "instrument": InstrumentFactory,
    "pilotbase": PilotBaseFactory,
}
