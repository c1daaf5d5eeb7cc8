from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from techtransfer.core.dbmaintenance import database_optimize
from techtransfer.core.registry import KINDS
from techtransfer.demo.loader import DEFAULT_PAPERS, DemoDataError, demo_load

OTHER_LABELS = {"users": "演示账号", "organizations": "示例单位", "facts": "年度规模数据", "certifications": "资质认定"}


class Command(BaseCommand):
    help = "载入演示数据：每个角色一个演示账号、示例单位和六类登记记录（均标为示例）；可重复运行，已有的不再创建"

    def add_arguments(self, parser):
        parser.add_argument(
            "--papers", type=int, default=DEFAULT_PAPERS, help=f"由 CSL 论文生成的示例成果数（默认 {DEFAULT_PAPERS}）"
        )
        parser.add_argument(
            "--allow-production", action="store_true", help="在生产设置下也载入（演示账号的密码是公开的，慎用）"
        )

    def handle(self, *args, papers, allow_production, **options):
        if settings.PRODUCTION and not allow_production:
            raise CommandError("生产环境（TECHTRANSFER_PRODUCTION=1）不载入演示数据：演示账号的密码是公开的。")
        try:
            result = demo_load(papers=papers)
        except DemoDataError as exc:
            raise CommandError(str(exc)) from exc
        labels = {**OTHER_LABELS, **{slug: kind.label for slug, kind in KINDS.items()}}
        created = [f"{labels[name]} {count}" for name, count in result.created.items() if count]
        if created:
            database_optimize()  # planner statistics for the new rows; a run that added nothing needs none
            self.stdout.write("演示数据已载入，新建：" + "、".join(created))
        else:
            self.stdout.write("演示数据已存在，未作改动。")
        self.stdout.write("演示账号（仅供演示，勿用于生产）：")
        width = max(len(login.label) for login in result.logins)
        for login in result.logins:
            self.stdout.write(f"  {login.label.ljust(width, '　')}  用户名 {login.username:<20} 密码 {login.password}")
