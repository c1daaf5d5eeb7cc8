"""Demo data for ``make run``: example organizations, records and one login per role (``techtransfer load_demo``)."""
