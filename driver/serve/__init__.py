"""``confsql serve``: the Postgres wire protocol in front of confsql.

psql, psycopg, psqlODBC, the Postgres JDBC driver and the BI tools built on
them connect with no confsql code on their side.  Modules, in the order a
client meets them:

* :mod:`.cli` - options, config file, safety checks;
* :mod:`.server` - listening socket, a thread per client, cancel keys;
* :mod:`.client` - one connection: TLS, startup, SCRAM (:mod:`.scram`), messages;
* :mod:`.wire` - message framing and fields;
* :mod:`.statements` - what a statement is: :mod:`.commands` (SET, SHOW, BEGIN ...),
  EXEC (passed through) or SQL (:mod:`.translate`, Postgres to SQLite);
* :mod:`.backend` - the client's confsql connection, portals, row streaming;
* :mod:`.pgtypes` - type OIDs and value encodings; :mod:`.sqlstate` - error codes;
* :mod:`.pgcatalog` - ``pg_catalog`` and ``information_schema`` from schema/.
"""

from .cli import main

__all__ = ["main"]
