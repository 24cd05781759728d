"""The headings help and the reference group commands under, in the order help shows them."""

from __future__ import annotations

from pslrepl.commandspec import Group

SESSION = Group("session", "Session")
PROCESSES = Group("processes", "Processes: subprocess, signal, sh")
SIGNALS = Group("signals", "Signals: signal")
SOCKETS = Group("sockets", "Sockets: socket")
LOOKUPS = Group("lookups", "Names and numbers: socket's functions")
SERVERS = Group("servers", "Servers: socketserver")
TLS = Group("tls", "TLS: ssl")
