"""``/api/v1/regions``: the deployment's region tree."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext


@pytest.mark.django_db
def test_region_tree(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/regions")

    assert response.status_code == 200
    (city,) = response.json()
    assert {k: city[k] for k in ("code", "name", "kind", "kind_label", "division")} == {
        "code": "340600",
        "name": "淮北市",
        "kind": "city",
        "kind_label": "市",
        "division": "340600",
    }
    assert [(c["code"], c["name"], c["kind_label"], c["division"], c["children"]) for c in city["children"]] == [
        ("340603", "相山区", "区", "340603", []),
        ("340602", "杜集区", "区", "340602", []),
        ("340604", "烈山区", "区", "340604", []),
        ("340621", "濉溪县", "县", "340621", []),
        ("340600-P01", "淮北高新技术产业开发区", "园区", None, []),
        ("340600-P02", "安徽（淮北）新型煤化工合成材料基地", "园区", None, []),
    ]
    assert len([q for q in queries.captured_queries if '"regions_region"' in q["sql"]]) == 1  # the whole tree at once
