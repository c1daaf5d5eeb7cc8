"""``techtransfer index rebuild [--with-vectors]``, ``techtransfer index update`` and ``techtransfer index status``.

The matching index of published achievements, demands, experts and instruments lives under
``VAR_DIR/index``; pages and the API re-check every result against the database, and ``update``
rebuilds when records were published, withdrawn or edited since the last build.
"""

import sys
import time

from django.core.management.base import BaseCommand

from techtransfer.matchmaking.indexing import index_dir, index_pending, index_rebuild, index_update, read_stamp


def progress_bar(label: str, stream=None, width: int = 30):
    """A one-line progress bar on stderr: ``label [#####.....] done/total``."""
    stream = stream or sys.stderr
    start = time.monotonic()

    def report(done: int, total: int) -> None:
        filled = width if total == 0 else int(width * done / total)
        rate = done / max(time.monotonic() - start, 1e-9)
        stream.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} ({rate:.0f}/s)")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return report


class Command(BaseCommand):
    help = "精准对接索引：重建（rebuild）、按需更新（update）或查看状态（status）"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{rebuild,update,status}")
        for name, text in (("rebuild", "从数据库重建全部索引"), ("update", "有记录发布、撤回或修改时重建索引")):
            p = sub.add_parser(name, help=text)
            p.add_argument(
                "--with-vectors",
                action="store_true",
                dest="with_vectors",
                help="同时计算语义向量（multilingual-e5-small，较慢；已算过的从缓存读取）",
            )
        sub.add_parser("status", help="索引文档数、构建时间和待更新的记录数")

    def handle(self, *args, action, **options):
        return getattr(self, f"handle_{action}")(**options)

    def _report(self, result):
        kind = "词语 + 语义向量" if result.with_vectors else "仅词语"
        self.stdout.write(f"索引已重建：{result.documents} 条记录（{kind}），位于 {index_dir()}。")

    def handle_rebuild(self, *, with_vectors=False, **options):
        self._report(index_rebuild(with_vectors=with_vectors, progress=progress_bar("读取记录", self.stderr._out)))

    def handle_update(self, *, with_vectors=False, **options):
        result = index_update(with_vectors=with_vectors, progress=progress_bar("读取记录", self.stderr._out))
        if result is None:
            self.stdout.write("索引已是最新，无需重建。")
        else:
            self._report(result)

    def handle_status(self, **options):
        stamp = read_stamp()
        if stamp is None:
            self.stdout.write(f"尚未建立索引（{index_dir()}）；待索引记录 {index_pending()} 条。")
            return
        self.stdout.write(
            f"索引：{stamp['documents']} 条记录，构建于 {stamp['built_at']}；待更新 {index_pending()} 条。"
        )
