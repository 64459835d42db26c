"""Forward-only schema migrations. ``MIGRATIONS[i]`` brings the schema from version i to i+1.

Never edit a migration that has shipped: add a new one.
"""

from __future__ import annotations

V1 = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The name list. Nobody is deleted by an import; `merge` folds one row into another.
CREATE TABLE people (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    org            TEXT,
    title          TEXT,
    note           TEXT,
    categories     TEXT NOT NULL DEFAULT '',        -- comma-separated
    source         TEXT NOT NULL,                   -- vcard | google | manual | referral | linkedin
    source_detail  TEXT,                            -- e.g. the file it came from
    referred_by    INTEGER REFERENCES people(id) ON DELETE SET NULL,
    added_at       TEXT NOT NULL,                   -- ISO timestamp
    last_contacted TEXT,                            -- YYYY-MM-DD of the last call that happened
    rotation_key   TEXT NOT NULL DEFAULT '',        -- '' never called, else 'RRRRR:YYYY-MM-DD':
                                                    -- rounds called so far and the last day
    shuffle        INTEGER NOT NULL,                -- stable random tie-break for the rotation
    removed_at_source TEXT                          -- deleted at its source (Google): kept, marked
);
CREATE INDEX people_rotation ON people(rotation_key, shuffle);
CREATE INDEX people_referred ON people(referred_by) WHERE referred_by IS NOT NULL;
CREATE INDEX people_name ON people(name COLLATE NOCASE);

-- Ways to reach a person; `norm` is what duplicates are matched on.
CREATE TABLE addresses (
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    kind      TEXT NOT NULL CHECK (kind IN ('email', 'phone', 'url')),
    value     TEXT NOT NULL,                        -- as written
    norm      TEXT NOT NULL,                        -- lower-cased email, E.164 phone
    position  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, norm, person_id)
);
CREATE INDEX addresses_person ON addresses(person_id);

-- Identity of a person at a source: a vCard UID, a Google resourceName.
CREATE TABLE source_ids (
    source    TEXT NOT NULL,                        -- 'vcard' | 'google' | 'linkedin'
    ext_id    TEXT NOT NULL,
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    PRIMARY KEY (source, ext_id)
);
CREATE INDEX source_ids_person ON source_ids(person_id);

CREATE TABLE topics (
    id     INTEGER PRIMARY KEY,
    text   TEXT NOT NULL,
    set_at TEXT NOT NULL
);

CREATE TABLE calls (
    id          TEXT PRIMARY KEY,                   -- stable: also the event's UID stem
    person_id   INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    day         TEXT NOT NULL,                      -- YYYY-MM-DD, local to tz
    start_at    TEXT NOT NULL,                      -- ISO datetime with offset
    end_at      TEXT NOT NULL,
    tz          TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('rotation', 'referral', 'retry', 'follow_up')),
    outcome     TEXT NOT NULL DEFAULT 'planned' CHECK (outcome IN
                  ('planned', 'done', 'no_answer', 'rescheduled', 'skipped', 'missed')),
    notes       TEXT NOT NULL DEFAULT '',
    notes_hash  TEXT,                               -- hash of the notes last applied
    follow_up   TEXT,                               -- YYYY-MM-DD asked for in the notes
    origin_call TEXT REFERENCES calls(id) ON DELETE SET NULL,  -- the call whose notes made this one
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX calls_one_open ON calls(person_id) WHERE outcome = 'planned';
CREATE UNIQUE INDEX calls_person_day ON calls(person_id, day);
CREATE UNIQUE INDEX calls_from_origin ON calls(origin_call, kind) WHERE origin_call IS NOT NULL;
CREATE INDEX calls_day ON calls(day);
CREATE INDEX calls_outcome ON calls(outcome, day);
CREATE INDEX calls_follow_up ON calls(follow_up) WHERE follow_up IS NOT NULL;

CREATE TABLE referrals (
    call_id   TEXT NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    PRIMARY KEY (call_id, person_id)
);

CREATE TABLE offers (
    id        INTEGER PRIMARY KEY,
    call_id   TEXT NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    text      TEXT NOT NULL,
    done_at   TEXT,
    UNIQUE (call_id, text)
);

CREATE TABLE wins (
    call_id TEXT NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    text    TEXT NOT NULL,
    PRIMARY KEY (call_id, text)
);

-- Per calendar: which calls have an event there, and what we last saw of it.
CREATE TABLE calendar_events (
    calendar TEXT NOT NULL,
    call_id  TEXT NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    uid      TEXT NOT NULL,
    etag     TEXT,
    state    TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'written', 'deleted')),
    written  TEXT,                                  -- the description syncsvc wrote
    edited   INTEGER NOT NULL DEFAULT 0,            -- the person changed it: never overwrite
    PRIMARY KEY (calendar, call_id)
);
CREATE UNIQUE INDEX calendar_events_uid ON calendar_events(calendar, uid);
CREATE INDEX calendar_events_pending ON calendar_events(calendar, state);

-- Sync tokens: a calendar's key, or 'contacts:google'.
CREATE TABLE sync_tokens (
    scope TEXT PRIMARY KEY,
    token TEXT
);
"""

# Keep them informed: a win recorded on a call plans a "thank you / update" call to everyone
# in the referral chain that led to it, once each.
V2 = """
CREATE TABLE updates (
    win_call  TEXT NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    call_id   TEXT REFERENCES calls(id) ON DELETE SET NULL,  -- the update call, once planned
    PRIMARY KEY (win_call, person_id)
);
CREATE INDEX updates_pending ON updates(win_call) WHERE call_id IS NULL;
CREATE UNIQUE INDEX updates_call ON updates(call_id) WHERE call_id IS NOT NULL;
"""

# Speed (docs/PERFORMANCE.md): a person's addresses by kind without scanning all of that
# kind; and the hash of the card last imported under a source id, so an unchanged card is
# recognised with one lookup.
V3 = """
CREATE INDEX addresses_person_kind ON addresses(person_id, kind);
ALTER TABLE source_ids ADD COLUMN card_hash TEXT;
"""

# addresses(person_id) is a prefix of addresses_person_kind: every address written kept two
# index entries where one serves both lookups.
V4 = """
DROP INDEX addresses_person;
"""

# A vCard file imported before, byte for byte the same, by the same syncsvc with the same
# phone region, is not read again: the import counts its cards as unchanged (store/files.py).
V5 = """
CREATE TABLE imported_files (
    path    TEXT PRIMARY KEY,                       -- absolute path of the file
    sha256  TEXT NOT NULL,                          -- of its bytes when it was imported
    key     TEXT NOT NULL,                          -- syncsvc version and phone region then
    cards   INTEGER NOT NULL,                       -- cards merged from it
    skipped TEXT NOT NULL                           -- JSON: the skipped-card reports
);
"""

# The notes loop (issue 13). Two new outcomes, which calls' CHECK must allow: SQLite cannot
# alter a CHECK, so calls is rebuilt (the documented 12-step way, with foreign keys off for
# this migration: see FOREIGN_KEYS_OFF). ``prep_notes``: text the person wrote before the
# call's start, kept apart from the call's note. ``receipt``: the block syncsvc last wrote back
# into the event, so it is never read as the person's text. ``paused``: out of the rotation
# ('never' by hand, 'stop' asked not to be called, 'wrong_number' until a new address).
V6 = """
CREATE TABLE calls_v6 (
    id          TEXT PRIMARY KEY,
    person_id   INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    day         TEXT NOT NULL,
    start_at    TEXT NOT NULL,
    end_at      TEXT NOT NULL,
    tz          TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('rotation', 'referral', 'retry', 'follow_up')),
    outcome     TEXT NOT NULL DEFAULT 'planned' CHECK (outcome IN
                  ('planned', 'done', 'no_answer', 'rescheduled', 'skipped', 'missed',
                   'stop', 'wrong_number')),
    notes       TEXT NOT NULL DEFAULT '',
    notes_hash  TEXT,
    follow_up   TEXT,
    origin_call TEXT REFERENCES calls(id) ON DELETE SET NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    prep_notes  TEXT NOT NULL DEFAULT ''
);
INSERT INTO calls_v6(id, person_id, day, start_at, end_at, tz, kind, outcome, notes, notes_hash,
                     follow_up, origin_call, created_at, updated_at)
    SELECT id, person_id, day, start_at, end_at, tz, kind, outcome, notes, notes_hash,
           follow_up, origin_call, created_at, updated_at FROM calls;
DROP TABLE calls;
ALTER TABLE calls_v6 RENAME TO calls;
CREATE UNIQUE INDEX calls_one_open ON calls(person_id) WHERE outcome = 'planned';
CREATE UNIQUE INDEX calls_person_day ON calls(person_id, day);
CREATE UNIQUE INDEX calls_from_origin ON calls(origin_call, kind) WHERE origin_call IS NOT NULL;
CREATE INDEX calls_day ON calls(day);
CREATE INDEX calls_outcome ON calls(outcome, day);
CREATE INDEX calls_follow_up ON calls(follow_up) WHERE follow_up IS NOT NULL;
ALTER TABLE calendar_events ADD COLUMN receipt TEXT;
ALTER TABLE people ADD COLUMN paused TEXT CHECK (paused IN ('never', 'stop', 'wrong_number'));
"""

# Beyond the anchors (issue 18). ``reason``: why the planner picked this person that day, in
# one line, as the event, `plan` and `calls --json` show it. ``outcome_at``: when the call first
# got an outcome other than planned (set by the trigger from the update's updated_at, so every
# code path that records an outcome is covered) — the report's "outcome written within 48 h".
# ``update_drafts``: the update messages `syncsvc updates` drafted, each (person, kind, key) once.
V7 = """
ALTER TABLE calls ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN outcome_at TEXT;
CREATE TRIGGER calls_outcome_at AFTER UPDATE OF outcome ON calls
WHEN OLD.outcome = 'planned' AND NEW.outcome != 'planned' AND NEW.outcome_at IS NULL
BEGIN
    UPDATE calls SET outcome_at = NEW.updated_at WHERE id = NEW.id;
END;
CREATE TABLE update_drafts (
    id         INTEGER PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('win', 'news')),
    key        TEXT NOT NULL,                      -- the win call, or the news period's start
    email      TEXT,                               -- the address it is drafted to
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    path       TEXT,                               -- the .eml file written
    created_at TEXT NOT NULL,
    sent_at    TEXT,                               -- `updates --done ID`
    UNIQUE (person_id, kind, key)
);
"""

# `merge --undo` (issue 16): what both people were before their last merges, exactly — every row
# of both and every row that named them (store/merges.py) — so an undo puts them all back.
V8 = """
CREATE TABLE merges (
    id       INTEGER PRIMARY KEY,
    keep     INTEGER NOT NULL,                      -- the person kept (no reference: restored)
    other    INTEGER NOT NULL,                      -- the person folded in and dropped
    at       TEXT NOT NULL,                         -- ISO timestamp of the merge
    snapshot TEXT NOT NULL,                         -- JSON: the rows before the merge
    after    TEXT NOT NULL                          -- fingerprint of keep's calls after it
);
"""

# The stale-event defect (issue 15): a rewrite of an event's text is recorded before the remote
# write (``rewriting``), as the outbox records a create, so an event read back carrying exactly
# that text after a crash between the write and its record is known as syncsvc's, not an edit;
# ``receipt_sending`` does the same for a receipt (else it is read as the person's note).
V9 = """
ALTER TABLE calendar_events ADD COLUMN rewriting TEXT;
ALTER TABLE calendar_events ADD COLUMN receipt_sending TEXT;
"""

# The receipt says what syncsvc did: ``referrals.matched_by`` is how a ``ref:`` line matched
# someone already on the list ('email' | 'phone' | 'name'; NULL: the note added them, or the row
# is older than this), kept as the note's first reading found it so the receipt never flips.
# ``offers.closed_by``: the call whose note ("gave: ...") closed the offer, so taking that line
# back reopens it; NULL: closed by hand (``offers done``), or before this migration (stays closed).
V10 = """
ALTER TABLE referrals ADD COLUMN matched_by TEXT CHECK (matched_by IN ('email', 'phone', 'name'));
ALTER TABLE offers ADD COLUMN closed_by TEXT REFERENCES calls(id) ON DELETE SET NULL;
CREATE INDEX offers_closed_by ON offers(closed_by) WHERE closed_by IS NOT NULL;
"""

# The desktop nudge before a call is shown once: ``nudged_at`` remembers it across a daemon
# restart inside the nudge window (it used to be remembered in memory only).
V11 = """
ALTER TABLE calls ADD COLUMN nudged_at TEXT;
"""

MIGRATIONS: list[str] = [V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11]
SCHEMA_VERSION = len(MIGRATIONS)
# Migrations (by index in MIGRATIONS) that rebuild a table other tables reference: they run
# with foreign keys off (a DROP TABLE would cascade) and are checked before they commit.
FOREIGN_KEYS_OFF = frozenset({5})
