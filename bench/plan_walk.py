#!/usr/bin/env python3
"""The walk of a run's plan through the host: how far `simbi run` hands its setup around.

From run_pipeline, follows every call that hands on the run's setup: an argument naming a variable
of the setup's types (the Manifest, the RunPlan, a RunContext that carries it, or one of the
plan's parts, *Part) that lands in a parameter of one of those types. Prints the walk as it goes (each stay: the function and its
file), then the stays, the files, and the returns: entries into a file the walk had already left,
by a new call (the setup sent back to a file it had finished with) or by coming back from one. A setup resolved once and handed out in parts makes a
short walk with few returns; a manifest that travels everywhere makes a long one.
usage: bench/plan_walk.py [SOURCE_DIR] [--from=FUNCTION] [--quiet]   (from run_pipeline, or e.g. cmd_run)
"""
import os
import re
import sys

TRACKED_TYPE = re.compile(r"\b(Manifest|RunPlan|RunContext|\w+Part)\b")
LOCAL = re.compile(r"\b(?:Manifest|RunPlan|RunContext|\w+Part)\s*[&*]?\s*(\w+)\s*[{=(]")


def strip(text):
    """Comments and string literals blanked, line structure kept."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)
    text = re.sub(r'R"\((.*?)\)"', '""', text, flags=re.S)
    return re.sub(r'"(\\.|[^"\\\n])*"', '""', text)


def matching(text, i, open_c, close_c):
    depth = 0
    for j in range(i, len(text)):
        if text[j] == open_c:
            depth += 1
        elif text[j] == close_c:
            depth -= 1
            if depth == 0:
                return j
    return len(text) - 1


def split_args(s):
    out, depth, cur = [], 0, ""
    for c in s:
        if c in "([{<":
            depth += 1
        elif c in ")]}>":
            depth -= 1
        if c == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += c
    if cur.strip():
        out.append(cur.strip())
    return out


DEF = re.compile(r"([A-Za-z_][\w:]*)\s*\(")


def functions(path):
    """(name, params, body) of each function defined in the file, lambdas excluded."""
    text = strip(open(path, encoding="utf-8").read())
    found = []
    i = 0
    while True:
        m = DEF.search(text, i)
        if not m:
            break
        name = m.group(1)
        close = matching(text, m.end() - 1, "(", ")")
        after = text[close + 1 : close + 80]
        head = re.match(r"\s*(const\s*)?(noexcept\s*)?(override\s*)?(final\s*)?(->\s*[\w:<>]+\s*)?\{", after)
        keyword = name.split("::")[-1] in ("if", "for", "while", "switch", "catch", "return", "sizeof")
        if head and not keyword:
            body_start = close + 1 + head.end() - 1
            body_end = matching(text, body_start, "{", "}")
            params = split_args(text[m.end() : close])
            found.append((name.split("::")[-1], params, text[body_start : body_end + 1]))
            i = body_end + 1
        else:
            i = m.end()
    return found


def param_name(p):
    p = p.split("=")[0].strip()
    m = re.search(r"(\w+)\s*$", p)
    return m.group(1) if m else ""


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    start = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--from=")), "run_pipeline")
    quiet = "--quiet" in sys.argv
    root = args[0] if args else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    defs = {}
    for folder, _, files in os.walk(os.path.join(root, "framework")):
        for f in files:
            if f.endswith(".cpp"):
                path = os.path.join(folder, f)
                for name, params, body in functions(path):
                    defs.setdefault(name, []).append((params, body, os.path.relpath(path, root)))
    walk = []  # the files, in the order the walk is in them, with how it got there

    stays = []  # (function, file) of each stay

    def visit(name, body, file, tracked, stack, depth):
        walk.append((file, "call"))
        stays.append((name, file))
        tracked = tracked | set(LOCAL.findall(body))  # locals of the setup's types hold the setup
        if not quiet:
            print("  " * depth + f"{name} ({file})")
        for call in DEF.finditer(body):
            callee = call.group(1).split("::")[-1]
            if callee not in defs or callee in stack:
                continue
            close = matching(body, call.end() - 1, "(", ")")
            call_args = split_args(body[call.end() : close])
            for c_params, c_body, c_file in defs[callee]:
                if len(c_params) < len(call_args):
                    continue
                handed = set()
                for k, a in enumerate(call_args):
                    if set(re.findall(r"\b\w+\b", a)) & tracked and TRACKED_TYPE.search(c_params[k]):
                        handed.add(param_name(c_params[k]))
                if handed:
                    visit(callee, c_body, c_file, handed, stack | {callee}, depth + 1)
                    walk.append((file, "return"))  # back in the caller
                    break

    for params, body, file in defs[start]:
        tracked = {param_name(p) for p in params if TRACKED_TYPE.search(p)}
        visit(start, body, file, tracked, {start}, 0)
    left, returns, calls_back, previous = set(), 0, 0, None
    for f, how in walk:
        if f != previous:
            if f in left:
                returns += 1
                calls_back += how == "call"
            if previous is not None:
                left.add(previous)
        previous = f
    print(f"{len(stays)} stays in {len(set(f for _, f in stays))} files, {returns} returns to a file already left "
          f"({calls_back} of them by a call, the others coming back from one)")

if __name__ == "__main__":
    main()
