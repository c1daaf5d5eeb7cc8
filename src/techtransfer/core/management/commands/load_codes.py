from django.core.management.base import BaseCommand

from techtransfer.core.codelists import code_lists_load
from techtransfer.regions.services import region_tree_load


class Command(BaseCommand):
    help = "载入国家标准代码表（GB/T 4754-2017、GB/T 2260）和本地区域树"

    def add_arguments(self, parser):
        parser.add_argument("--tree", default="huaibei", help="区域树名称或 JSON 文件路径（默认 huaibei）")

    def handle(self, *args, tree, **options):
        counts = code_lists_load()
        regions = region_tree_load(tree=tree)
        self.stdout.write(
            f"国民经济行业 {counts['industry']} 条，行政区划 {counts['divisions']} 条，区域树 {regions} 个节点"
        )
