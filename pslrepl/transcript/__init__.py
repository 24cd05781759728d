"""Transcripts: parse a ``.psl`` file, match output against it, diff and rewrite.

A transcript is what a session shows. ``psl> `` lines are commands; the lines under
one are its expected output. Lines before the first command and lines starting ``#``
are comments. In expected output a line ending `` (re)`` is a regular expression for
the whole line, `` (glob)`` a glob, and a line holding only ``...`` matches any number
of lines. ``{name.attr}`` placeholders bind to the live value the first time they are
seen and must keep it; ``{?NAME}`` (one word) and ``{?NAME:REGEX}`` capture what they
match as ``{NAME}`` for what follows. ``{time}`` and ``{age}`` match any clock time or
age. Table padding of two spaces or more beside a placeholder matches any such run.
``#!`` lines before the first command are directives (``require``, ``timeout``);
``-- NAME --`` lines after the last command's output start embedded files.

Three pure modules do the text's work, and their names are all here too: ``syntax``
(the marks, parsing, formatting), ``matching`` (output against expected lines, and
diffs) and ``writing`` (output lines as transcript lines, with live values as
placeholders). Four more meet the system: ``directives`` (checking them, testing
conditions), ``timelimit`` (cancelling a replay's command), ``checking`` (many
transcripts: --jobs, --junit, -i) and ``runs`` (what --check and --update print);
pslrepl.replay runs one in a session.
"""

from __future__ import annotations

from pslrepl.transcript.matching import ALIGN_PAIRS as ALIGN_PAIRS
from pslrepl.transcript.matching import align as align
from pslrepl.transcript.matching import captures as captures
from pslrepl.transcript.matching import diff as diff
from pslrepl.transcript.matching import expand as expand
from pslrepl.transcript.matching import match_line as match_line
from pslrepl.transcript.matching import match_output as match_output
from pslrepl.transcript.matching import resolve as resolve
from pslrepl.transcript.syntax import ANY_LINES as ANY_LINES
from pslrepl.transcript.syntax import FILE_MARK as FILE_MARK
from pslrepl.transcript.syntax import FREE as FREE
from pslrepl.transcript.syntax import PLACEHOLDER as PLACEHOLDER
from pslrepl.transcript.syntax import PROMPT as PROMPT
from pslrepl.transcript.syntax import Bindings as Bindings
from pslrepl.transcript.syntax import EmbeddedFile as EmbeddedFile
from pslrepl.transcript.syntax import Step as Step
from pslrepl.transcript.syntax import Transcript as Transcript
from pslrepl.transcript.syntax import commands_in as commands_in
from pslrepl.transcript.syntax import format_transcript as format_transcript
from pslrepl.transcript.syntax import lines_of as lines_of
from pslrepl.transcript.syntax import parse as parse
from pslrepl.transcript.writing import ADDRESS_KINDS as ADDRESS_KINDS
from pslrepl.transcript.writing import LOW_PORTS as LOW_PORTS
from pslrepl.transcript.writing import SMALL_PID as SMALL_PID
from pslrepl.transcript.writing import TIME_RE as TIME_RE
from pslrepl.transcript.writing import Namer as Namer
from pslrepl.transcript.writing import Segment as Segment
from pslrepl.transcript.writing import escape_unsafe as escape_unsafe
from pslrepl.transcript.writing import expected_line as expected_line
from pslrepl.transcript.writing import literal as literal
from pslrepl.transcript.writing import name_values as name_values
from pslrepl.transcript.writing import needs_escape as needs_escape
from pslrepl.transcript.writing import split_values as split_values
from pslrepl.transcript.writing import unsafe as unsafe
