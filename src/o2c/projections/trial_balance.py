"""The trial balance read model: per account totals, every posting, per-date totals
and their checkpoints (for as-of and known-at reports)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from o2c.domain.journal_entry import JournalEntry
from o2c.domain.ledger_account import LedgerAccount
from o2c.projections.base import Envelope, ReadModel, Rows, Table, aggregate_id, text_id


class TrialBalance(ReadModel):
    """Per account: debits, credits, balance; and every posting, for as-of reports."""

    name = "trial_balance"
    tables = (
        Table("rm_accounts", ("code",), (
            "code TEXT", "name TEXT", "type TEXT", "debit BIGINT", "credit BIGINT")),
        Table("rm_postings", ("position", "line_no"), (
            "position BIGINT", "line_no INTEGER", "entry_id TEXT", "account TEXT",
            "effective_date TEXT", "recorded_at TEXT", "debit BIGINT", "credit BIGINT",
            "cause TEXT", "source_id TEXT", "memo TEXT")),
        Table("rm_balance_by_date", ("account", "effective_date"), (
            "account TEXT", "effective_date TEXT", "debit BIGINT", "credit BIGINT")),
        Table("rm_balance_checkpoints", ("position", "account", "effective_date"), (
            "position BIGINT", "account TEXT", "effective_date TEXT", "debit BIGINT",
            "credit BIGINT")),
    )
    # Indexes are not a stored format: the projector creates the missing ones when it
    # starts (Projector.create_tables), so adding one needs no rebuild.
    indexes = ("CREATE INDEX IF NOT EXISTS {s}rm_postings_recorded ON {t}rm_postings "
               "(recorded_at)",
               "CREATE INDEX IF NOT EXISTS {s}rm_postings_entry ON {t}rm_postings (entry_id)",
               "CREATE INDEX IF NOT EXISTS {s}rm_postings_source ON {t}rm_postings (source_id)",
               # An account's ledger: its postings of a date range in order, one index range
               # (ledger_reports.ledger); a page continues from its last key.
               "CREATE INDEX IF NOT EXISTS {s}rm_postings_account ON {t}rm_postings "
               "(account, effective_date, position, line_no)",
               # The year-end close's postings, which profit and loss subtracts.
               "CREATE INDEX IF NOT EXISTS {s}rm_postings_cause ON {t}rm_postings "
               "(cause, effective_date)")

    def register(self) -> None:
        self.on(LedgerAccount.Opened, self._opened)
        self.on(JournalEntry.Posted, self._posted)

    def checkpoint(self, cur: Any, table: Callable[[str], str], position: int) -> None:
        """Copies the per-date totals as they stand at ``position``."""
        cur.execute(f"INSERT INTO {table('rm_balance_checkpoints')} (position, account, "
                    "effective_date, debit, credit) SELECT ?, account, effective_date, debit, "
                    f"credit FROM {table('rm_balance_by_date')}", (position,))

    def _opened(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        rows.put("rm_accounts", (event.code,), {"code": event.code, "name": event.name,
                                                "type": event.type, "debit": 0, "credit": 0})

    def _posted(self, e: Envelope, rows: Rows) -> None:
        # The hottest handler of a rebuild (every posting line of the log): it reads the
        # stored fields directly instead of decoding the whole event.
        fields = e.event.raw
        stored_date, source = fields["date"], fields["source_id"]
        assert stored_date["_type_"] == "date_iso", stored_date
        day = stored_date["_data_"]  # ISO 8601 as stored: the same text isoformat() gives
        assert source is None or source["_type_"] == "uuid_hex", source
        source_id = text_id(source["_data_"]) if source else None
        entry, cause, memo = aggregate_id(e), fields["cause"], fields["memo"]
        minor = self.minor_stored
        for number, line in enumerate(fields["lines"], start=1):
            code = line["account"]
            account = rows.get("rm_accounts", (code,))
            assert account is not None, f"posting to unknown account {code}"
            debit, credit = minor(line["debit"]), minor(line["credit"])
            account["debit"] += debit
            account["credit"] += credit
            rows.put("rm_accounts", (code,), account)
            day_key = (code, day)
            total = rows.get("rm_balance_by_date", day_key) or {
                "account": code, "effective_date": day, "debit": 0, "credit": 0}
            total["debit"] += debit
            total["credit"] += credit
            rows.put("rm_balance_by_date", day_key, total)
            rows.append("rm_postings", (e.position, number, entry, code, day, e.recorded_at,
                                        debit, credit, cause, source_id, memo))
