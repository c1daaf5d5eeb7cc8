from django.db import models

from . import access


class RecordQuerySet(models.QuerySet):
    """The one place registry lists are narrowed to what a user may see or change."""

    def visible_to(self, user):
        return self.filter(access.record_visible_q(self.model, user))

    def editable_by(self, user):
        return self.filter(access.record_editable_q(self.model, user))

    def reviewable_by(self, user):
        return self.filter(access.record_reviewable_q(self.model, user))

    def published(self):
        return self.filter(status="published")
