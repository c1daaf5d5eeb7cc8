"""``techtransfer policies sync`` (the shipped rule library as policy rows),
``techtransfer policies run --period 2025 --applied-on 2026-12-01`` (政策找企业 for every enterprise) and
``techtransfer policies import-text <政策编号或文号> <file> [--dry-run]`` (a policy's full text from a file)."""

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from techtransfer.core.access import AccessDenied
from techtransfer.core.errors import ServiceError
from techtransfer.policies.fulltext import check_size
from techtransfer.policies.models import Policy
from techtransfer.policies.services import entitlement_batch_run, library_sync, policy_text_import


def _describe(exc: ServiceError) -> str:
    lines = [exc.message]
    for field, messages in exc.details.items():
        lines.extend(f"  {field}：{m}" for m in messages)
    return "\n".join(lines)


class Command(BaseCommand):
    help = "政策兑现：导入随平台发布的规则库，对全部企业运行政策匹配（政策找企业），或从文件导入政策原文"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{sync,run,import-text}")
        sub.add_parser("sync", help="为规则库中的政策和条款建立政策库记录（已有的保持不变）")
        run = sub.add_parser("run", help="按某日生效的规则评价全部企业某年度的数据")
        run.add_argument("--period", required=True, help="评价年度，如 2025")
        run.add_argument("--applied-on", required=True, dest="applied_on", help="规则适用日期，如 2026-12-01")
        run.add_argument("--as", dest="username", default=None, help="以该平台管理员的名义运行（记入审计日志）")
        text = sub.add_parser("import-text", help="从 .txt/.html/.md 文件导入政策原文（按匹配流程规范化）")
        text.add_argument("policy", help="政策：数据库编号、规则库编号（如 huaibei_transfer_plan）或文号")
        text.add_argument("file", help="UTF-8 或 GBK 编码的 .txt、.html 或 .md 文件")
        text.add_argument("--dry-run", action="store_true", dest="dry_run", help="只报告规范化结果，不保存")
        text.add_argument("--as", dest="username", default=None, help="以该平台管理员的名义导入（记入审计日志）")

    def handle(self, *args, action, **options):
        return getattr(self, f"handle_{action.replace('-', '_')}")(**options)

    def handle_sync(self, **options):
        created = library_sync()
        self.stdout.write(f"已导入政策 {created.get('policies', 0)} 项、条款 {created.get('clauses', 0)} 项。")

    def handle_run(self, *, period, applied_on, username=None, **options):
        library_sync()
        actor = self._actor(username)
        try:
            run = entitlement_batch_run(actor=actor, period=period, applied_on=applied_on)
        except ServiceError as exc:
            raise CommandError(_describe(exc)) from exc
        except AccessDenied as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"{run}：{run.enterprises} 家企业，{len(run.clauses)} 个生效条款。")
        for clause_id, counts in run.counts["by_clause"].items():
            summary = "，".join(f"{k} {v}" for k, v in counts.items())
            self.stdout.write(f"  {clause_id}：{summary}")
        self.stdout.write(
            f"保存 {run.counts['stored']} 条（符合或缺少数据），保留已确认或已拨付的 {run.counts['kept']} 条。"
        )

    def handle_import_text(self, *, policy, file, dry_run=False, username=None, **options):
        target = self._policy(policy)
        actor = self._actor(username)
        try:
            check_size(os.path.getsize(file))  # before reading a file that is far too large
            with open(file, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise CommandError(f"无法读取文件：{file}（{exc.strerror}）") from exc
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        try:
            report = policy_text_import(
                actor=actor, policy=target, data=data, filename=os.path.basename(file), dry_run=dry_run
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        except AccessDenied as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"{target.title}（{target.document_number or target.engine_id}）")
        self.stdout.write(report.summary())

    def _policy(self, key: str) -> Policy:
        """The policy named by its database id, its rule-library id or its 文号 (which must name only one)."""
        key = key.strip()
        found = Policy.objects.filter(Q(engine_id=key) | Q(document_number=key))
        if key.isdigit():
            found = Policy.objects.filter(Q(pk=int(key)) | Q(engine_id=key) | Q(document_number=key))
        found = list(found[:2])
        if not found:
            raise CommandError(f"未找到政策：{key}（可用数据库编号、规则库编号或文号）")
        if len(found) > 1:
            raise CommandError(f"“{key}”对应多项政策，请改用数据库编号或规则库编号")
        return found[0]

    def _actor(self, username):
        """The platform administrator the run is recorded under (the command line is the platform's own)."""
        users = get_user_model().objects
        if username:
            user = users.filter(username=username).first()
            if user is None:
                raise CommandError(f"用户不存在：{username}")
            return user
        user = (
            users.filter(is_superuser=True).order_by("pk").first()
            or users.filter(role_assignments__role="platform_admin").order_by("pk").first()
        )
        if user is None:
            raise CommandError("没有平台管理员账号：请先创建，或用 --as 指定")
        return user
