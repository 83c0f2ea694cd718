"""Find shell syntax in a command string that will be run without a shell.

Without ``--shell`` a command string is split into words (``shlex``) and executed directly, so ``|``,
``&&``, ``;``, redirections, ``$VAR`` and globs would reach the program as literal arguments and the
benchmark would silently measure something else (``echo a | wc -c`` runs ``echo`` with four arguments).
This scanner follows sh's quoting rules (single quotes, double quotes, backslash) and reports the first
character a shell would have interpreted, so the caller can refuse the string with a hint.
"""

from __future__ import annotations

_OPERATORS = {"|": "a pipe '|'", "&": "'&' (background, && or &>)", ";": "a command separator ';'",
              "<": "a redirection '<'", ">": "a redirection '>'", "\n": "a newline (command separator)",
              "(": "a subshell '('", ")": "a subshell ')'", "`": "a command substitution (backquote)"}
_GLOBS = {"*": "a glob '*'", "?": "a glob '?'"}
_DOLLAR_NEXT = set("{(_?$!#@*-") | set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def find_shell_syntax(text: str) -> str | None:
    """What a shell would interpret in ``text`` (e.g. ``"a pipe '|'"``), or None when there is nothing.

    Quoted characters are literal (``'a|b'``, ``"*"``, ``\\;``); ``$`` and backquotes inside double
    quotes are still expansions, as in sh. A lone ``[`` (the test command) is not a glob; ``[...]``
    inside a word is."""
    quote = ""  # "", "'" or '"'
    word_start = True
    bracket_open = False  # an unquoted '[' seen in the current word
    i = 0
    while i < len(text):
        ch = text[i]
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if quote == "'":
            if ch == "'":
                quote = ""
            i += 1
            continue
        if ch == "\\":
            i += 2
            word_start = False
            continue
        if ch == "$" and nxt in _DOLLAR_NEXT:
            return "a variable or command expansion '$'" if nxt != "(" else "a command substitution '$('"
        if ch == "`":
            return _OPERATORS["`"]
        if quote == '"':
            if ch == '"':
                quote = ""
            i += 1
            continue
        if ch in "'\"":
            quote = ch
            word_start = False
        elif ch in " \t":
            word_start, bracket_open = True, False
        elif ch in _OPERATORS:
            return _OPERATORS[ch]
        elif ch in _GLOBS:
            return _GLOBS[ch]
        elif ch == "#" and word_start:
            return "a comment '#'"
        elif ch == "~" and word_start:
            return "a home directory '~'"
        elif ch == "[":
            bracket_open = True
            word_start = False
        elif ch == "]" and bracket_open and not _lone_bracket_word(text, i):
            return "a glob '[...]'"
        else:
            word_start = False
        i += 1
    return None


def _lone_bracket_word(text: str, close: int) -> bool:
    """``[ x ]``'s closing bracket stands alone: the test command, not a bracket glob."""
    before = text[close - 1] if close > 0 else " "
    after = text[close + 1] if close + 1 < len(text) else " "
    return before in " \t" and after in " \t"
