"""The enders an exported script defines: a child's whole process group ended as the
shell ends it (close, reset, the script's end), and the /proc count of its members."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.export.script import Script


# The live members of a child's process group, from /proc, as the shell counts them.
GROUP_MEMBERS = (
    "",
    "",
    "def group_members(pgid):",
    '    """The live processes (zombies left out) of the group a child leads (its session',
    '    too: start_new_session), from /proc."""',
    "    found = []",
    "    for name in os.listdir('/proc'):",
    "        try:",
    "            with open(f'/proc/{name}/stat', 'rb') as fh:",
    "                data = fh.read()",
    "        except OSError:  # not a process, or one just gone",
    "            continue",
    "        fields = data[data.rindex(b')') + 2 :].split()",
    "        if fields[0] != b'Z' and int(fields[2]) == pgid and int(fields[3]) == pgid:",
    "            found.append(int(name))",
    "    return found",
    "",
    "",
)


# The shell's close of a child: TERM to its group, KILL after the grace, then what it
# left in its group (a pipeline's other members, a job it started), TERM then KILL.
END_CHILD = (
    "",
    "",
    "def end_child(popen, grace=1.0):",
    '    """As the shell\'s close: TERM to the child\'s process group, KILL after the grace;',
    '    then what it left running in its group, TERM then KILL. What happened."""',
    "    if popen.poll() is None:",
    "        os.killpg(popen.pid, signal.SIGTERM)",
    "        try:",
    "            popen.wait(timeout=grace)",
    '            said = f"terminated: {status(popen.returncode)}"',
    "        except subprocess.TimeoutExpired:",
    "            os.killpg(popen.pid, signal.SIGKILL)",
    "            popen.wait()",
    '            said = f"killed after {grace:g} s grace: {status(popen.returncode)}"',
    "    else:",
    '        said = f"closed ({status(popen.returncode)})"',
    "    left = group_members(popen.pid)",
    "    deadline = time.monotonic() + 0.2  # members the group's TERM reached are going",
    "    while said.startswith(('terminated', 'killed')) and left and time.monotonic() < deadline:",
    "        time.sleep(0.02)",
    "        left = group_members(popen.pid)",
    "    for signum in (signal.SIGTERM, signal.SIGKILL) if left else ():",
    "        try:",
    "            os.killpg(popen.pid, signum)",
    "        except OSError:  # gone meanwhile",
    "            break",
    "        deadline = time.monotonic() + grace",
    "        while group_members(popen.pid) and time.monotonic() < deadline:",
    "            time.sleep(0.02)  # not our children: nothing to wait on but their going",
    "        if not group_members(popen.pid):",
    "            break",
    "    if left:",
    '        es = "es" if len(left) != 1 else ""',
    '        said += f"; ended {len(left)} process{es} it left running"',
    "    return said",
    "",
    "",
)


def end_child(script: Script) -> str:
    """Have end_child (and group_members) defined in the script; its name."""
    return define_ender(script, "end_child", END_CHILD, "subprocess")


def define_ender(script: Script, name: str, lines: tuple[str, ...], module: str) -> str:
    """Have ``name`` (an ender: end_child, sh's end_job) defined in the script by
    ``lines``, after the group_members it uses; ``module`` the one it needs beside."""
    script.use("status")
    script.imp("os", "signal", module, "time")
    for defined, text in (("group_members", GROUP_MEMBERS), (name, lines)):
        if defined not in script.globals:
            script.globals.add(defined)
            script.add(*text)
    return name
