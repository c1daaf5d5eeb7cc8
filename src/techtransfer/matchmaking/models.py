"""The matchmaking funnel: a ``Match`` between a demand and what may solve it, and one event per stage change.

Who may see or move a match is decided in ``matchmaking.access``; stages change only through
``matchmaking.services.match_advance``.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import CounterpartKind, MatchStage


class MatchQuerySet(models.QuerySet):
    def visible_to(self, user):
        from .access import match_visible_q

        return self.filter(match_visible_q(user))

    def drivable_by(self, user):
        from .access import match_drivable_q

        return self.filter(match_drivable_q(user))


class Match(models.Model):
    demand = models.ForeignKey(
        "demands.Demand", verbose_name=_("技术需求"), on_delete=models.PROTECT, related_name="matches"
    )
    achievement = models.ForeignKey(
        "achievements.Achievement",
        verbose_name=_("科技成果"),
        on_delete=models.PROTECT,
        related_name="matches",
        null=True,
        blank=True,
    )
    expert = models.ForeignKey(
        "experts.Expert",
        verbose_name=_("专家"),
        on_delete=models.PROTECT,
        related_name="matches",
        null=True,
        blank=True,
    )
    instrument = models.ForeignKey(
        "instruments.Instrument",
        verbose_name=_("大型仪器"),
        on_delete=models.PROTECT,
        related_name="matches",
        null=True,
        blank=True,
    )
    stage = models.CharField(
        _("对接阶段"), max_length=16, choices=MatchStage.choices, default=MatchStage.RECOMMENDED, db_index=True
    )
    # The furthest funnel step reached (a dropped match keeps the step it was dropped at): conversion rates.
    furthest_stage = models.CharField(
        _("到达的最远阶段"), max_length=16, choices=MatchStage.choices, default=MatchStage.RECOMMENDED
    )
    notes = models.TextField(_("备注"), blank=True)
    driven_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("对接负责人"),
        on_delete=models.PROTECT,
        related_name="driven_matches",
    )
    region = models.ForeignKey(
        "regions.Region", verbose_name=_("所属区域"), on_delete=models.PROTECT, related_name="matches", null=True
    )
    score = models.FloatField(_("推荐得分"), null=True, blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = MatchQuerySet.as_manager()

    class Meta:
        verbose_name = _("对接")
        verbose_name_plural = _("对接")
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="match_exactly_one_counterpart",
                condition=(
                    Q(achievement__isnull=False, expert__isnull=True, instrument__isnull=True)
                    | Q(achievement__isnull=True, expert__isnull=False, instrument__isnull=True)
                    | Q(achievement__isnull=True, expert__isnull=True, instrument__isnull=False)
                ),
            ),
            models.CheckConstraint(name="match_stage_valid", condition=Q(stage__in=MatchStage.values)),
            models.UniqueConstraint(
                fields=["demand", "achievement"],
                condition=Q(achievement__isnull=False),
                name="match_demand_achievement",
            ),
            models.UniqueConstraint(
                fields=["demand", "expert"], condition=Q(expert__isnull=False), name="match_demand_expert"
            ),
            models.UniqueConstraint(
                fields=["demand", "instrument"], condition=Q(instrument__isnull=False), name="match_demand_instrument"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.demand} ↔ {self.counterpart}"

    @property
    def counterpart(self):
        return self.achievement or self.expert or self.instrument

    @property
    def counterpart_kind(self) -> str:
        if self.achievement_id:
            return CounterpartKind.ACHIEVEMENT
        if self.expert_id:
            return CounterpartKind.EXPERT
        return CounterpartKind.INSTRUMENT


class MatchEvent(models.Model):
    """One stage change of a match (append-only): who, when, from → to, and the note."""

    match = models.ForeignKey(Match, verbose_name=_("对接"), on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), on_delete=models.PROTECT, related_name="+", null=True
    )
    from_stage = models.CharField(_("原阶段"), max_length=16, choices=MatchStage.choices, blank=True)
    to_stage = models.CharField(_("新阶段"), max_length=16, choices=MatchStage.choices)
    note = models.TextField(_("说明"), blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("对接记录")
        verbose_name_plural = _("对接记录")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.match_id}: {self.from_stage or '—'} → {self.to_stage}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("match events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("match events are append-only")
