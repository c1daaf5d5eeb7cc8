"""Shared pytest fixtures: code lists loaded once per test database, one person per role."""

from types import SimpleNamespace

import pytest

from techtransfer.core.tests.factories import (
    MembershipFactory,
    OrganizationFactory,
    RoleFactory,
    UserFactory,
    region,
)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from techtransfer.core.codelists import code_lists_load
    from techtransfer.regions.services import region_tree_load

    with django_db_blocker.unblock():
        code_lists_load()
        region_tree_load(tree="huaibei")


@pytest.fixture(autouse=True)
def no_index_refresh_threads(settings):
    # Matching index refreshes after commit are the matchmaking tests' subject (they switch them on);
    # elsewhere a background rebuild would outlive its test and write to the real var/index.
    settings.MATCHING_AUTO_UPDATE = "off"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Argon2 is the production hasher (tested in accounts); tests log in hundreds of times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def people(db):
    """One user for every role, and two enterprises in different regions.

    - enterprise ``acme`` (相山区) with ``acme_admin`` and ``acme_member``;
    - enterprise ``rival`` (濉溪县) with ``rival_member``;
    - ``xiangshan_admin`` administers 相山区, ``suixi_admin`` 濉溪县, ``platform_admin`` all;
    - ``scout``, ``expert``, ``commissioner``, ``auditor`` hold those platform roles.
    """
    acme = OrganizationFactory(name="淮北示例陶铝科技有限公司", region=region("340603"))
    rival = OrganizationFactory(name="濉溪示例锂电有限公司", region=region("340621"))
    p = SimpleNamespace(acme=acme, rival=rival, anonymous=None)
    p.acme_admin = MembershipFactory(organization=acme, role="admin", user__username="acme_admin").user
    p.acme_member = MembershipFactory(organization=acme, user__username="acme_member").user
    p.rival_member = MembershipFactory(organization=rival, user__username="rival_member").user
    p.platform_admin = RoleFactory(role="platform_admin", user__username="platform_admin").user
    p.xiangshan_admin = RoleFactory(role="region_admin", region=region("340603"), user__username="xiangshan_admin").user
    p.suixi_admin = RoleFactory(role="region_admin", region=region("340621"), user__username="suixi_admin").user
    p.scout = RoleFactory(role="scout", user__username="scout").user
    p.expert = RoleFactory(role="expert", user__username="expert").user
    p.commissioner = RoleFactory(role="commissioner", user__username="commissioner").user
    p.auditor = RoleFactory(role="auditor", user__username="auditor").user
    p.outsider = UserFactory(username="outsider")
    return p


@pytest.fixture(autouse=True)
def empty_caches():
    # Cached anonymous pages are tagged with the content version, which restarts with every
    # rolled-back test: start each test with an empty cache.
    from django.core.cache import caches

    for alias in ("pages", "default"):
        caches[alias].clear()
    yield
    for alias in ("pages", "default"):
        caches[alias].clear()
