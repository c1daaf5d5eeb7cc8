"""``techtransfer index rebuild [--with-vectors] | update [--with-vectors] | status | worker [--once]``.

The matching index of published achievements, demands, experts and instruments lives under
``VAR_DIR/index``; pages and the API re-check every result against the database. The server refreshes it
after each publish, withdraw or edit (``MATCHING_AUTO_UPDATE``); ``update`` rebuilds when records changed
since the last build; ``worker`` computes the missing semantic vectors in the background (``make run``
starts it) and rebuilds with them.
"""

import os
import signal
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from techtransfer.matchmaking.indexing import (
    index_dir,
    index_pending,
    index_rebuild,
    index_update,
    make_embedder,
    read_stamp,
    read_worker_state,
    vector_worker_pass,
    vectors_wanted,
    worker_is_running,
)

WORKER_POLL_SECONDS = 10  # how often an idle worker looks at the build stamp (one small file read)
WORKER_RETRY_SECONDS = 60  # after a failed pass


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
        sub = parser.add_subparsers(dest="action", required=True, metavar="{rebuild,update,status,worker}")
        for name, text in (("rebuild", "从数据库重建全部索引"), ("update", "有记录发布、撤回或修改时重建索引")):
            p = sub.add_parser(name, help=text)
            p.add_argument(
                "--with-vectors",
                action="store_true",
                dest="with_vectors",
                help="先计算缺少的语义向量（multilingual-e5-small，较慢；已算过的从缓存读取）",
            )
        sub.add_parser("status", help="索引文档数、构建时间、语义向量数和待更新的记录数")
        p = sub.add_parser("worker", help="后台进程：为已发布记录计算缺少的语义向量，完成后重建索引")
        p.add_argument("--once", action="store_true", help="只处理一轮，然后退出")

    def handle(self, *args, action, **options):
        return getattr(self, f"handle_{action}")(**options)

    def _report(self, result):
        if not result.vectors:
            kind = "仅词语"
        elif result.vectors == result.documents:
            kind = "词语 + 语义向量"
        else:
            kind = f"词语 + 语义向量 {result.vectors} / {result.documents} 条"
        self.stdout.write(f"索引已重建：{result.documents} 条记录（{kind}），位于 {index_dir()}。")

    def _progress(self):
        return {
            "progress": progress_bar("读取记录", self.stderr._out),
            "embed_progress": progress_bar("计算语义向量", self.stderr._out),
        }

    def handle_rebuild(self, *, with_vectors=False, **options):
        self._report(index_rebuild(with_vectors=with_vectors, **self._progress()))

    def handle_update(self, *, with_vectors=False, **options):
        result = index_update(with_vectors=with_vectors, **self._progress())
        if result is None:
            self.stdout.write("索引已是最新，无需重建。")
        else:
            self._report(result)

    def handle_status(self, **options):
        stamp = read_stamp()
        if stamp is None:
            self.stdout.write(f"尚未建立索引（{index_dir()}）；待索引记录 {index_pending()} 条。")
        else:
            self.stdout.write(
                f"索引：{stamp['documents']} 条记录，构建于 {stamp['built_at']}；待更新 {index_pending()} 条。"
            )
            self.stdout.write(f"语义向量：{stamp.get('vectors', 0)} / {stamp['documents']} 条。")
        worker = read_worker_state()
        if worker_is_running(worker):
            self.stdout.write(
                f"后台正在计算语义向量：{worker['done']} / {worker['total']} 条（进程 {worker['pid']}）。"
            )

    def handle_worker(self, *, once=False, **options):
        try:
            model_id = make_embedder().model_id
        except ValueError as exc:
            raise CommandError(f"语义模型配置有误：{exc}") from exc
        if once:
            self._worker_pass()
            return
        # `make run` stops the worker with SIGTERM: leave through `finally` so the state file says idle.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        self.stderr.write(f"语义向量后台进程已启动（进程 {os.getpid()}，模型 {model_id}）。")
        last_stamp = object()
        while True:
            stamp = read_stamp()
            if stamp != last_stamp and vectors_wanted(model_id):
                try:
                    self._worker_pass()
                except Exception as exc:  # a broken pass must not end the worker: say why, retry later
                    self.stderr.write(f"语义向量计算失败：{exc}；{WORKER_RETRY_SECONDS} 秒后重试。")
                    time.sleep(WORKER_RETRY_SECONDS)
                    continue
                stamp = read_stamp()
            last_stamp = stamp
            time.sleep(WORKER_POLL_SECONDS)

    def _worker_pass(self):
        result = vector_worker_pass(progress=progress_bar("计算语义向量", self.stderr._out))
        if result.build is None:
            self.stdout.write(f"语义向量：新计算 {result.embedded} 条；索引无需重建。")
        else:
            build = result.build
            self.stdout.write(
                f"语义向量：新计算 {result.embedded} 条；索引已重建，{build.vectors} / {build.documents} 条记录有向量。"
            )
