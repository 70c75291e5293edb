"""RSS/Atom feeds into corpus files: each new entry's page, read with trafilatura, becomes
`<host>/<slug>-<hash>.txt` in the feeds folder (QA_FEEDS_DIR, default QA_INDEX_DIR/feeds),
indexed as `feeds/<host>/<slug>-<hash>.txt`, with `Date:`, `Title:` and `URL:` header
lines (qa/ingest/headers.py), so the normal ingest indexes it with the entry's date, title and link.

What was seen, and each feed's ETag / Last-Modified, is kept in `feeds.json` in the index
folder. A feed or entry that fails is reported and tried again at the next poll; it never stops
the others, and one entry's bad date only makes that entry undated. Parsing a feed and reading a
page run in worker threads within QA_FEED_PARSE_TIMEOUT_S, so the service stays responsive.
Nothing is fetched unless feeds are configured (QA_FEEDS) or a feed file is read, and never from
a non-public address (qa/netguard.py).

parse.py reads feed documents, state.py keeps feeds.json, polling.py fetches and writes.
"""

from qa.ingest.feeds.parse import FEED_TYPES, Entry, parse_feed, read_feed, render
from qa.ingest.feeds.polling import MAX_TRIES, poll, read_feed_file
from qa.ingest.feeds.state import (
    FOLDER,
    STATE_FILE,
    FeedState,
    FeedStatus,
    PollReport,
    entry_path,
    feeds_folder,
)

__all__ = [
    "FEED_TYPES",
    "FOLDER",
    "MAX_TRIES",
    "STATE_FILE",
    "Entry",
    "FeedState",
    "FeedStatus",
    "PollReport",
    "entry_path",
    "feeds_folder",
    "parse_feed",
    "poll",
    "read_feed",
    "read_feed_file",
    "render",
]
