#!/usr/bin/env python3
"""Decode every `(module binary ...)` of the spec testsuite with `kiln inspect`.

Not part of the meson test suite (the spec runner covers these commands end to end); a
developer's check of the decoder alone:

    tests/spec_binary_decode_check.py build/tools/kiln [/work/shared/spec-testsuite]

Modules that stand alone (and those of assert_invalid / assert_unlinkable / assert_trap) must
decode; assert_malformed modules must fail with the expected message as a substring. Some
malformed modules are only detected inside function bodies, which the decoder leaves to the
validator: they are listed as "accepted (body-level)" rather than counted as failures when the
message is one of the operator-level ones.
"""
import collections
import os
import subprocess
import sys
import tempfile

# Errors that only reading the operators of a function body can find (the validator's job).
BODY_LEVEL = {
    'malformed memop flags', 'illegal opcode', 'data count section required',
    'integer representation too long', 'integer too large',
    'unexpected end of section or function', 'illegal opcode ff',
}


def tokenize(text):
    i, n, tokens = 0, len(text), []
    escapes = {'n': 10, 't': 9, 'r': 13, '"': 34, "'": 39, '\\': 92}
    while i < n:
        c = text[i]
        if c in ' \t\r\n':
            i += 1
        elif text.startswith(';;', i):
            j = text.find('\n', i)
            i = n if j < 0 else j
        elif text.startswith('(;', i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith('(;', i):
                    depth, i = depth + 1, i + 2
                elif text.startswith(';)', i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c in '()':
            tokens.append(c)
            i += 1
        elif c == '"':
            j, buf = i + 1, bytearray()
            while text[j] != '"':
                if text[j] == '\\':
                    d = text[j + 1]
                    if d in escapes:
                        buf.append(escapes[d])
                        j += 2
                    elif d == 'u':
                        k = text.index('}', j)
                        buf += chr(int(text[j + 3:k], 16)).encode('utf-8', 'surrogatepass')
                        j = k + 1
                    else:
                        buf.append(int(text[j + 1:j + 3], 16))
                        j += 3
                else:
                    buf += text[j].encode('utf-8')
                    j += 1
            tokens.append(('string', bytes(buf)))
            i = j + 1
        else:
            j = i
            while j < n and text[j] not in ' \t\r\n()"' and not text.startswith(';;', j):
                j += 1
            tokens.append(text[i:j])
            i = j
    return tokens


def parse(tokens):
    stack = [[]]
    for token in tokens:
        if token == '(':
            stack.append([])
        elif token == ')':
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(token)
    return stack[0]


def binary_module(form):
    if not isinstance(form, list) or not form or form[0] != 'module':
        return None
    rest = [x for x in form[1:] if not (isinstance(x, str) and (x.startswith('$') or x == 'definition'))]
    if not rest or rest[0] != 'binary':
        return None
    return b''.join(x[1] for x in rest[1:] if isinstance(x, tuple))


def main():
    kiln = sys.argv[1]
    root = sys.argv[2] if len(sys.argv) > 2 else '/work/shared/spec-testsuite'
    counts, failures = collections.Counter(), []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'module.wasm')
        for directory, _, files in sorted(os.walk(root)):
            for name in sorted(f for f in files if f.endswith('.wast')):
                script = os.path.join(directory, name)
                rel = os.path.relpath(script, root)
                with open(script, encoding='utf-8') as f:
                    forms = parse(tokenize(f.read()))
                for form in forms:
                    kind, message, module = 'module', None, form
                    if isinstance(form, list) and form and form[0] in (
                            'assert_malformed', 'assert_invalid', 'assert_unlinkable',
                            'assert_trap', 'assert_uninstantiable'):
                        kind, module = form[0], form[1]
                        if len(form) > 2 and isinstance(form[2], tuple):
                            message = form[2][1].decode()
                    binary = binary_module(module)
                    if binary is None:
                        continue
                    with open(path, 'wb') as out:
                        out.write(binary)
                    run = subprocess.run([kiln, 'inspect', path], capture_output=True, text=True)
                    error = run.stderr.strip()
                    if kind == 'assert_malformed':
                        if run.returncode != 0 and message in error:
                            counts['malformed: expected error'] += 1
                        elif run.returncode == 0 and message in BODY_LEVEL:
                            counts['malformed: accepted (body-level, for the validator)'] += 1
                        else:
                            counts['malformed: MISMATCH'] += 1
                            failures.append(f'{rel}: expected "{message}", got: {error or "accepted"}')
                    elif run.returncode == 0:
                        counts[f'{kind}: decodes'] += 1
                    else:
                        counts[f'{kind}: FAILS TO DECODE'] += 1
                        failures.append(f'{rel}: {kind} rejected: {error}')
    for failure in failures:
        print(failure)
    for key, value in sorted(counts.items()):
        print(f'{value:6d}  {key}')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
