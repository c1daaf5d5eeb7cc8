from django.core.management.base import BaseCommand

from techtransfer.core.dbmaintenance import database_optimize


class Command(BaseCommand):
    help = "更新数据库查询优化统计（ANALYZE）；大批量导入后或每日运行一次"

    def handle(self, *args, **options):
        vendor = database_optimize()
        self.stdout.write(f"已更新 {vendor} 的查询统计")
