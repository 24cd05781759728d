"""`help NAME` for a stdlib name that is no command: which commands make that call, or
where the value shows, or why the name has no command (the notes' API sheet, name by name).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.commandspec import Command

# Names no command's `calls` spells, and what a student typing one should be told.
ANSWERS = {
    # subprocess
    "Popen": "subprocess.Popen: `spawn` starts one and keeps it under a NAME (`py p` is "
    "the Popen); `run` starts one and waits for it",
    "bufsize": "Popen's bufsize: `spawn --bufsize N` passes it (0 unbuffered, 1 line "
    "buffered with --text); the shell reads a child's pipes unbuffered itself",
    "pass_fds": "Popen's pass_fds: `spawn NAME --pass SOCKET -- ARGV` keeps the socket "
    "open in the child at the same number, told in env PSL_FD",
    "DEVNULL": "subprocess.DEVNULL: `spawn --stdin devnull`, `--stdout devnull`, "
    "`--stderr devnull`",
    "preexec_fn": "Popen's preexec_fn: the shell sets what children need without it "
    "(start_new_session=True); `py` can pass one to subprocess.Popen",
    "env": "Popen's env: `run --env K=V` and `spawn --env K=V` add to the environment",
    "cwd": "Popen's cwd: `run --cwd DIR` and `spawn --cwd DIR`",
    "shell": "Popen's shell=True: `run --shell` and `spawn --shell` give ARGV to /bin/sh",
    "child": "the notes' `child` is a Popen: `spawn child -- ARGV` makes one under that name",
    "pipe_cloexec": "subprocess.pipe_cloexec was a Python 2 internal (a pipe with "
    "FD_CLOEXEC set); Python 3 has os.pipe2 and makes pipes close-on-exec by default, so "
    "there is nothing to call",
    "stdin": "Popen.stdin, the child's standard input: `write`, `writeline`, `eof` and "
    "`communicate` use it; `py p.stdin` is the file object",
    "stdout": "Popen.stdout: `read NAME` takes what the child printed; `py p.stdout` is "
    "the file object",
    "stderr": "Popen.stderr: `read NAME --stderr`; `spawn --merge-stderr` sends it to stdout",
    "pid": "Popen.pid: `spawn` says it, `ps` and `info NAME` show it, `py p.pid` returns it",
    "returncode": "Popen.returncode: `poll NAME` and `wait NAME` set it, `ps` and `info "
    "NAME` show it (negative: the signal that ended the child)",
    "PIPE": "subprocess.PIPE: `spawn` gives every child pipes (stdin=PIPE, stdout=PIPE, "
    "stderr=PIPE), which `write`, `read` and `communicate` use; `spawn a --stdout pipe` "
    "keeps one for the next child's `--stdin a` (a pipeline)",
    "STDOUT": "subprocess.STDOUT: `spawn --stderr stdout` (or `--merge-stderr`) passes "
    "stderr=STDOUT",
    "CalledProcessError": "what check=True raises: `check_call`, `check_output` and "
    "`run --check` fail with its status (and the output it had)",
    "TimeoutExpired": "what timeout= raises: `call`, `check_call`, `check_output` and `run` "
    "--timeout S kill the child, reap it and fail with it",
    # socket (socket, bind, listen, connect, connect_ex, getsockname, getpeername,
    # gettimeout, fileno, recv_into, recvfrom_into, makefile and fromfd are commands)
    "close": "socket.close and friends: `close NAME` closes any resource",
    "family": "socket.family: `info NAME` shows it (and type and proto); `py s.family`",
    "type": "socket.type: `info NAME` shows it; `py s.type`",
    "proto": "socket.proto: `info NAME` shows it; `py s.proto`",
    "getsockopt": "socket.getsockopt: `sockopt NAME OPTION`",
    "setsockopt": "socket.setsockopt: `sockopt NAME OPTION VALUE`",
    # socketserver
    "BaseServer": "socketserver.BaseServer: `serve` runs one (TCPServer, UDPServer, "
    "UnixStreamServer) in the background; `py web` is the server",
    "TCPServer": "socketserver.TCPServer: `serve NAME tcp ADDR`; with --manual it binds "
    "and listens, and `handle_request NAME` serves one request",
    "UDPServer": "socketserver.UDPServer: `serve NAME udp ADDR`; with --manual, "
    "`handle_request NAME` takes one datagram",
    "BaseRequestHandler": "socketserver.BaseRequestHandler: `serve --handler "
    "python:FILE:CLASS` serves with your own subclass, its setup, handle and finish each "
    "an event in `log NAME`; `handlers` lists the built-in ones",
    "StreamRequestHandler": "socketserver.StreamRequestHandler (self.rfile, self.wfile): "
    "subclass it in a file and `serve NAME tcp ADDR --handler python:FILE:CLASS`",
    "DatagramRequestHandler": "socketserver.DatagramRequestHandler: subclass it in a file "
    "and `serve NAME udp ADDR --handler python:FILE:CLASS` (tcp refuses it)",
    "rfile": "StreamRequestHandler.rfile: a handler of yours reads the client through it "
    "(`serve --handler python:FILE:CLASS`)",
    "wfile": "StreamRequestHandler.wfile: a handler of yours writes to the client through "
    "it (`serve --handler python:FILE:CLASS`)",
    "handle": "BaseRequestHandler.handle: what serves each client; `handlers` lists the "
    "built-in ones, and `serve --handler python:FILE:CLASS` runs yours, each call an "
    "event in `log NAME`",
    "setup": "BaseRequestHandler.setup: runs before handle, for each client; with "
    "`serve --handler python:FILE:CLASS` each call is an event in `log NAME`",
    "finish": "BaseRequestHandler.finish: runs after handle, even when handle raised; "
    "with `serve --handler python:FILE:CLASS` each call is an event in `log NAME`",
    "request": "BaseRequestHandler.request: the client's socket (for UDP, the datagram "
    "and the socket); `clients NAME` lists a server's clients",
    "client_address": "BaseRequestHandler.client_address: `clients NAME` shows each "
    "client's address",
    "server": "BaseRequestHandler.server: the server serving it; `serve` makes one",
    "server_address": "BaseServer.server_address: `serve` says it and `info NAME` shows it",
    "RequestHandlerClass": "BaseServer.RequestHandlerClass: `serve --handler H` picks it "
    "(`handlers` lists them)",
    "timeout": "BaseServer.timeout: `serve --manual --timeout S` (what `handle_request` "
    "waits before handle_timeout); a socket's: `settimeout NAME S`; `serve --idle S` "
    "closes quiet clients; `set timeout` the shell's wait",
    "handle_request": "BaseServer.handle_request: `handle_request NAME [--timeout S]` "
    "serves one request on a `serve --manual` server, at the prompt",
    "serve_forever": "BaseServer.serve_forever: `serve` runs it in a thread (`serve "
    "--manual` does not: `handle_request NAME` serves); `stop` calls shutdown",
}


def stdlib_help(name: str, commands: list[Command]) -> tuple[str, list[str]] | None:
    """What to tell about ``name``: (an answer, the commands that make the call), or None."""
    makers = []
    for cmd in commands:
        for call in cmd.calls:
            if name == call or name in call.split("."):
                makers.append(cmd.name)
                break
        else:
            if any(opt.name == f"--{name.replace('_', '-')}" for opt in cmd.opts):
                makers.append(cmd.name)
    answer = ANSWERS.get(name)
    if answer is None and not makers:
        return None
    return answer or "", makers
