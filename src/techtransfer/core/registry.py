"""The registries the platform knows, described once for pages, the API, imports and exports."""

from dataclasses import dataclass, field

from django.apps import apps


@dataclass(frozen=True)
class RegistryKind:
    slug: str  # URL and CLI name: achievements, demands, experts, ...
    model_label: str
    label: str  # Chinese name for people
    title_field: str
    search_fields: tuple
    filters: dict  # query parameter → lookup, or "region", "industry", "multi:<field>", "bool"
    orderings: tuple
    default_ordering: str = "-published_at"
    select_related: tuple = ("organization", "region")
    summary_fields: tuple = field(default_factory=tuple)

    @property
    def model(self):
        return apps.get_model(self.model_label)


COMMON_FILTERS = {"region": "region", "status": "status", "organization": "organization_id"}

KINDS = {
    k.slug: k
    for k in [
        RegistryKind(
            slug="achievements",
            model_label="achievements.Achievement",
            label="科技成果",
            title_field="title",
            search_fields=("title", "abstract", "keywords"),
            filters={
                **COMMON_FILTERS,
                "field": "high_tech_field",
                "industry": "industry",
                "kind": "kind",
                "stage": "stage",
                "readiness_min": "readiness_level__gte",
                "readiness_max": "readiness_level__lte",
                "transfer_mode": "multi:transfer_modes",
                "pricing_method": "pricing_method",
            },
            orderings=("published_at", "created_at", "title", "readiness_level", "asking_price"),
            select_related=("organization", "region", "industry"),
        ),
        RegistryKind(
            slug="demands",
            model_label="demands.Demand",
            label="技术需求",
            title_field="title",
            search_fields=("title", "description"),
            filters={
                **COMMON_FILTERS,
                "field": "multi:fields",
                "industry": "industry",
                "cooperation_mode": "multi:cooperation_modes",
                "is_bottleneck": "bool",
                "budget_min": "budget__gte",
                "deadline_after": "deadline__gte",
            },
            orderings=("published_at", "created_at", "title", "budget", "deadline"),
            select_related=("organization", "region", "industry"),
        ),
        RegistryKind(
            slug="experts",
            model_label="experts.Expert",
            label="专家",
            title_field="name",
            search_fields=("name", "expertise", "discipline", "title"),
            filters={**COMMON_FILTERS, "field": "multi:fields", "can_review": "bool"},
            orderings=("published_at", "created_at", "name"),
        ),
        RegistryKind(
            slug="commissioners",
            model_label="experts.Commissioner",
            label="科技特派员",
            title_field="name",
            search_fields=("name", "expertise", "dispatch_unit", "served_enterprise"),
            filters={**COMMON_FILTERS, "field": "multi:fields"},
            orderings=("published_at", "created_at", "name"),
        ),
        RegistryKind(
            slug="instruments",
            model_label="instruments.Instrument",
            label="大型仪器",
            title_field="name",
            search_fields=("name", "model_number", "maker", "capabilities"),
            filters={**COMMON_FILTERS, "category": "category", "is_shared": "bool"},
            orderings=("published_at", "created_at", "name", "original_value", "fee"),
        ),
        RegistryKind(
            slug="pilotbases",
            model_label="pilotbases.PilotBase",
            label="中试基地",
            title_field="name",
            search_fields=("name", "capabilities"),
            filters={**COMMON_FILTERS, "field": "multi:fields", "level": "level"},
            orderings=("published_at", "created_at", "name"),
        ),
    ]
}


def kind_for_model(model) -> RegistryKind:
    label = model._meta.label
    return next(k for k in KINDS.values() if k.model_label == label)
