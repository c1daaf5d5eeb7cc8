from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from techtransfer.core.errors import ServiceError
from techtransfer.exchange.services import EXPORT_FORMATS, export_file
from techtransfer.exchange.specs import SPECS


class Command(BaseCommand):
    help = "把列表导出为 Excel（.xlsx）或 CSV：只导出该账号可见的数据，无权修改的记录隐去联系方式。"

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(SPECS), help="数据类型")
        parser.add_argument("file", help="输出文件，扩展名 .xlsx 或 .csv 决定格式")
        parser.add_argument("--user", help="以该账号的权限导出；不填则按未登录访客导出（仅已发布数据）")
        parser.add_argument(
            "--filter",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="与列表页相同的筛选条件，可重复，如 --filter region=340603 --filter status=published",
        )
        parser.add_argument("--q", default="", help="关键词")
        parser.add_argument("--ordering", default="", help="排序字段，如 -published_at")
        parser.add_argument("--format", choices=EXPORT_FORMATS, help="不填则按文件扩展名")

    def handle(self, *args, kind, file, user, filter, q, ordering, format, **options):
        account = None
        if user:
            try:
                account = get_user_model().objects.get(username=user)
            except get_user_model().DoesNotExist as exc:
                raise CommandError(f"没有账号“{user}”") from exc
        filters = {}
        for item in filter:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise CommandError(f"筛选条件应写成 KEY=VALUE：{item}")
            filters[key.strip()] = value.strip()
        path = Path(file)
        file_format = format or ("csv" if path.suffix.lower() == ".csv" else "xlsx")
        try:
            result = export_file(
                kind=kind, user=account, filters=filters, q=q, ordering=ordering, file_format=file_format
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        path.write_bytes(result.content)
        self.stdout.write(f"已导出 {result.rows} 行到 {path}")
