from django.db import models
from django.utils.translation import gettext_lazy as _


class MatchStage(models.TextChoices):
    """The matchmaking funnel (对接): recommended → contacted → negotiating → signed, or dropped on the way."""

    RECOMMENDED = "recommended", _("已推荐")
    CONTACTED = "contacted", _("已联系")
    NEGOTIATING = "negotiating", _("洽谈中")
    SIGNED = "signed", _("已签约")
    DROPPED = "dropped", _("已终止")


# The funnel's steps in order; ``dropped`` leaves it from any open step.
FUNNEL = (MatchStage.RECOMMENDED, MatchStage.CONTACTED, MatchStage.NEGOTIATING, MatchStage.SIGNED)
RANK = {stage: i for i, stage in enumerate(FUNNEL)}
OPEN_STAGES = frozenset(FUNNEL[:-1])
NEXT_STAGES = {
    MatchStage.RECOMMENDED: (MatchStage.CONTACTED, MatchStage.DROPPED),
    MatchStage.CONTACTED: (MatchStage.NEGOTIATING, MatchStage.DROPPED),
    MatchStage.NEGOTIATING: (MatchStage.SIGNED, MatchStage.DROPPED),
    MatchStage.SIGNED: (),
    MatchStage.DROPPED: (),
}


class CounterpartKind(models.TextChoices):
    """What a demand is matched with."""

    ACHIEVEMENT = "achievements", _("科技成果")
    EXPERT = "experts", _("专家")
    INSTRUMENT = "instruments", _("大型仪器")


class MatchErrorCode(models.TextChoices):
    BAD_STAGE = "bad_stage", _("当前阶段不允许转到该阶段")
    DUPLICATE = "duplicate", _("该需求与该对象的对接已登记")
    INVALID = "invalid", _("数据校验未通过")
