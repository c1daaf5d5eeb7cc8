"""Field suggestion (学科 / 技术领域推荐): a framework-free text classifier and its shipped models.

``techtransfer.fieldsuggest.model.suggest(text, k=3, target="discipline" | "field")`` returns
``[(label, probability)]``; see ``docs/adr/0004-field-suggestion.md``. No Django import anywhere in this package.
"""
