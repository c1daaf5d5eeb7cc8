from pathlib import Path

from django.core.management.base import BaseCommand

from techtransfer.exchange.selectors import import_template
from techtransfer.exchange.specs import SPECS


class Command(BaseCommand):
    help = "生成导入模板（.xlsx）：中文表头（* 为必填）、填写说明工作表和下拉选项。"

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(SPECS), help="数据类型")
        parser.add_argument("file", help="输出的 .xlsx 文件")

    def handle(self, *args, kind, file, **options):
        path = Path(file)
        path.write_bytes(import_template(SPECS[kind]).content)
        self.stdout.write(f"已生成{SPECS[kind].label}导入模板：{path}")
