"""Simplified Chinese first: the language is the one the user picked (the language cookie set by the 中文/English
switch), else ``settings.LANGUAGE_CODE`` — never the browser's Accept-Language.

Django's ``LocaleMiddleware`` would follow a browser set to English; our source strings are Chinese and the English
catalogue covers part of them, so such a browser got pages in two languages. English stays one click away.
"""

from __future__ import annotations

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


def chosen_language(request) -> str:
    """The language of the user's explicit choice, if it is one of ``settings.LANGUAGES``, else the default."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    if chosen in dict(settings.LANGUAGES):
        return chosen
    return settings.LANGUAGE_CODE


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request):
        translation.activate(chosen_language(request))
        request.LANGUAGE_CODE = translation.get_language()
