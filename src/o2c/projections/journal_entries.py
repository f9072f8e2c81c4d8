"""The journal list read model: every journal entry with its date, memo, cause, total,
accounts and whether it was reversed, for paged, searched and filtered lists
(``o2c.projections.lists.journal_entries``)."""

from __future__ import annotations

from o2c.domain.journal_entry import MANUAL, JournalEntry
from o2c.projections.base import Envelope, ReadModel, Rows, Table, aggregate_id, text_id
from o2c.projections.lists import search_text

#: An entry's status: standing, undone by a reversing entry, or itself such a reversal.
POSTED, REVERSED, REVERSAL = "posted", "reversed", "reversal"


class JournalList(ReadModel):
    """Per journal entry: effective date, memo, cause and source, total, lines, accounts,
    what it reverses or was reversed by; where it was posted in the log."""

    name = "journal_list"
    tables = (Table("rm_journal_list", ("id",), (
        "id TEXT", "position BIGINT", "effective_date TEXT", "memo TEXT", "cause TEXT",
        "manual INTEGER", "source_id TEXT", "total BIGINT", "line_count INTEGER",
        "accounts TEXT", "reverses TEXT", "reversed_by TEXT", "status TEXT",
        "recorded_at TEXT", "search TEXT")),)
    indexes = (
        "CREATE INDEX IF NOT EXISTS {s}rm_journal_list_position ON {t}rm_journal_list "
        "(position)",
        "CREATE INDEX IF NOT EXISTS {s}rm_journal_list_status ON {t}rm_journal_list "
        "(status, position)",
        "CREATE INDEX IF NOT EXISTS {s}rm_journal_list_date ON {t}rm_journal_list "
        "(effective_date, position)",
    )

    def register(self) -> None:
        self.on(JournalEntry.Posted, self._posted)
        self.on(JournalEntry.Reversed, self._reversed)

    def _posted(self, e: Envelope, rows: Rows) -> None:
        # Every entry of the log passes here on a rebuild: the stored fields are read
        # directly, as the trial balance's handler does.
        fields = e.event.raw
        stored_date, source, reverses = fields["date"], fields["source_id"], fields["reverses"]
        assert stored_date["_type_"] == "date_iso", stored_date
        lines = fields["lines"]
        accounts = sorted({line["account"] for line in lines})
        entry, cause, memo = aggregate_id(e), fields["cause"], fields["memo"]
        rows.put("rm_journal_list", (entry,), {
            "id": entry, "position": e.position, "effective_date": stored_date["_data_"],
            "memo": memo, "cause": cause,
            # By hand: a manual entry, or the reversal of one (only those can be reversed).
            "manual": int(cause == MANUAL or reverses is not None),
            "source_id": text_id(source["_data_"]) if source else None,
            "total": sum(self.minor_stored(line["debit"]) for line in lines),
            "line_count": len(lines), "accounts": " ".join(accounts),
            "reverses": text_id(reverses["_data_"]) if reverses else None,
            "reversed_by": None, "status": REVERSAL if reverses else POSTED,
            "recorded_at": e.recorded_at,
            "search": search_text(memo, cause, *accounts, entry)})

    @staticmethod
    def _reversed(e: Envelope, rows: Rows) -> None:
        entry = rows.get("rm_journal_list", (aggregate_id(e),))
        assert entry is not None, f"entry {aggregate_id(e)} reversed before it was posted"
        entry.update(reversed_by=str(e.event.by), status=REVERSED)
        rows.put("rm_journal_list", (aggregate_id(e),), entry)
