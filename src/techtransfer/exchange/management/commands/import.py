from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from techtransfer.core.access import AccessDenied
from techtransfer.core.errors import ServiceError
from techtransfer.exchange.services import import_file
from techtransfer.exchange.specs import SPECS


class Command(BaseCommand):
    help = "从 Excel（.xlsx）或 CSV 文件导入数据：先校验每一行，有任何一行不合格则什么都不导入。"

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(SPECS), help="数据类型")
        parser.add_argument("file", help=".xlsx 或 .csv 文件（CSV 可为 UTF-8、带 BOM 的 UTF-8 或 GBK 编码）")
        parser.add_argument("--user", required=True, help="以该账号的身份和权限导入")
        parser.add_argument("--dry-run", action="store_true", help="仅校验，不写入")

    def handle(self, *args, kind, file, user, dry_run, **options):
        try:
            account = get_user_model().objects.get(username=user)
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"没有账号“{user}”") from exc
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"找不到文件：{file}")
        try:
            report = import_file(kind=kind, user=account, file_name=path.name, data=path.read_bytes(), dry_run=dry_run)
        except (ServiceError, AccessDenied) as exc:
            raise CommandError(exc.message) from exc
        for line in report.lines:
            self.stderr.write(line)
        if not report.ok:
            raise CommandError(report.summary)
        self.stdout.write(report.summary)
