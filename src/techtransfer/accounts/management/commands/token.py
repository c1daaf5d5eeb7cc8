"""``techtransfer token create <username> --name NAME [--days N]`` and ``techtransfer token revoke <prefix>``."""

import datetime

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from techtransfer.accounts.models import ApiToken
from techtransfer.accounts.services import api_token_issue, api_token_revoke
from techtransfer.core.errors import ServiceError


class Command(BaseCommand):
    help = "签发、列出或吊销 REST API 令牌（令牌原文只在签发时显示一次）"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{create,revoke,list}")
        create = sub.add_parser("create", help="为用户签发令牌")
        create.add_argument("username", help="用户名")
        create.add_argument("--name", required=True, help="令牌用途，例如“数据同步脚本”")
        create.add_argument("--days", type=int, default=None, help="有效天数（默认长期有效）")
        revoke = sub.add_parser("revoke", help="按前缀吊销令牌")
        revoke.add_argument("prefix", help="令牌前缀，例如 tt_AbCdEfG")
        listing = sub.add_parser("list", help="列出令牌（只显示前缀）")
        listing.add_argument("username", nargs="?", help="只列出该用户的令牌")

    def handle(self, *args, action, **options):
        return getattr(self, f"handle_{action}")(**options)

    def handle_create(self, *, username, name, days, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"用户不存在：{username}")
        if days is not None and days < 1:
            raise CommandError("--days 必须是正整数")
        expires_at = timezone.now() + datetime.timedelta(days=days) if days else None
        try:
            token, raw_key = api_token_issue(user=user, name=name, expires_at=expires_at, actor=None)
        except ServiceError as exc:
            raise CommandError(_describe(exc)) from exc
        self.stdout.write(raw_key)
        until = timezone.localtime(expires_at).strftime("%Y-%m-%d %H:%M") if expires_at else "长期"
        self.stderr.write(f"已为 {username} 签发令牌“{token.name}”（前缀 {token.key_prefix}，有效期至 {until}）。")
        self.stderr.write("令牌原文只显示这一次，请立即妥善保存；平台只保存其 SHA-256 摘要。")

    def handle_revoke(self, *, prefix, **options):
        matches = list(ApiToken.objects.filter(key_prefix__startswith=prefix, revoked_at__isnull=True)[:2])
        if not matches:
            raise CommandError(f"没有以 {prefix} 开头的有效令牌")
        if len(matches) > 1:
            raise CommandError(f"以 {prefix} 开头的有效令牌不止一个，请输入更长的前缀")
        try:
            token = api_token_revoke(token=matches[0], actor=None)
        except ServiceError as exc:
            raise CommandError(_describe(exc)) from exc
        self.stdout.write(f"已吊销令牌“{token.name}”（{token.key_prefix}，用户 {token.user.get_username()}）。")

    def handle_list(self, *, username=None, **options):
        tokens = ApiToken.objects.select_related("user").order_by("user__username", "created_at")
        if username:
            tokens = tokens.filter(user__username=username)
        now = timezone.now()
        for t in tokens:
            if t.revoked_at:
                state = "已吊销"
            elif t.expires_at and t.expires_at <= now:
                state = "已过期"
            else:
                state = "有效"
            used = timezone.localtime(t.last_used_at).strftime("%Y-%m-%d %H:%M") if t.last_used_at else "从未使用"
            self.stdout.write(f"{t.key_prefix}\t{t.user.get_username()}\t{t.name}\t{state}\t{used}")


def _describe(exc: ServiceError) -> str:
    details = "；".join(f"{field}: {'、'.join(msgs)}" for field, msgs in exc.details.items())
    return f"{exc.message}（{details}）" if details else exc.message
