"""The .config model on Debian's real 6.12 config and on hand-made malformed files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from perflab.errors import PerflabError
from perflab.kernel.config import KernelConfig, write_atomic

DATA = Path(__file__).resolve().parents[1] / "data" / "kernel"
DEBIAN_612 = DATA / "config-6.12.117+deb12-amd64"


def test_debian_config_round_trips_byte_for_byte() -> None:
    config = KernelConfig.load(DEBIAN_612)
    assert config.dumps() == DEBIAN_612.read_text()
    # The shared README states 2,647 =y and 4,051 =m for this config.
    assert config.count("y") == 2647
    assert config.count("m") == 4051


def test_values_of_every_kind() -> None:
    config = KernelConfig.load(DEBIAN_612)
    assert config.get("CONFIG_KVM") == "m"
    assert config.get("KVM") == "m"  # the prefix is optional
    assert config.get("CRYPTO_AES_NI_INTEL") == "m"
    assert config.get("CONFIG_LOCALVERSION_AUTO") == "n"  # "# CONFIG_... is not set"
    assert config.get("DEFINITELY_NOT_A_SYMBOL") is None
    assert config.kind("CC_VERSION_TEXT") == "string"
    assert config.get("CC_VERSION_TEXT", "").startswith("x86_64-linux-gnu-gcc-12")
    assert config.kind("NR_CPUS") == "int"
    assert config.kind("PHYSICAL_START") == "hex"
    assert config.get("PHYSICAL_START") == "0x1000000"
    names = [entry.name for entry in config]
    assert names[0] == "CC_VERSION_TEXT"
    assert len(names) == len(set(names)) == len(config)


def test_string_escapes_round_trip(tmp_path: Path) -> None:
    text = '# head\nCONFIG_CMDLINE="a \\"quoted\\" back\\\\slash"\nCONFIG_X=y\n'
    config = KernelConfig.loads(text)
    assert config.get("CMDLINE") == 'a "quoted" back\\slash'
    config.set("CMDLINE", 'new "v"\\')
    out = tmp_path / "out"
    config.write(out)
    again = KernelConfig.load(out)
    assert again.get("CMDLINE") == 'new "v"\\'
    assert out.read_text().splitlines()[0] == "# head"  # comments kept in place


def test_set_keeps_order_and_renders_not_set() -> None:
    config = KernelConfig.loads("CONFIG_A=y\n# comment\nCONFIG_B=m\nCONFIG_S=\"x\"\n")
    assert config.set("CONFIG_A", "n") == "y"
    assert config.set("B", "y") == "m"
    assert config.set("S", "12") == "x"  # a string symbol stays a string
    assert config.set("NEW", "0x10") is None
    assert config.dumps() == '# CONFIG_A is not set\n# comment\nCONFIG_B=y\nCONFIG_S="12"\nCONFIG_NEW=0x10\n'
    assert config.remove("B") == "y"
    assert "B" not in config and "CONFIG_A" in config
    with pytest.raises(PerflabError, match="tristate value must be y, m or n"):
        config.set("A", "maybe", kind="tristate")


def test_redefinition_within_one_file_is_recorded() -> None:
    config = KernelConfig.loads("CONFIG_A=y\nCONFIG_B=y\nCONFIG_A=m\n")
    assert config.get("A") == "m"
    assert [(o.name, o.old, o.new, o.first_line, o.line) for o in config.overrides] == [("A", "y", "m", 1, 3)]
    assert config.dumps() == "CONFIG_A=m\nCONFIG_B=y\n"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("CONFIG_FOO", "missing '='"),
        ("CONFIG_FOO=", "empty value"),
        ('CONFIG_FOO="abc', "unterminated string"),
        ('CONFIG_FOO="abc" trailing', "text after the closing quote"),
        ("CONFIG_FOO=yes please", "unquoted value"),
        ("FOO=y", "expected 'CONFIG_NAME=value'"),
        ("CONFIG_FO-O=y", "expected 'CONFIG_NAME=value'"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "bad.config"
    path.write_text(f"# ok\nCONFIG_OK=y\n{line}\n")
    with pytest.raises(PerflabError, match=reason) as info:
        KernelConfig.load(path)
    assert info.value.message.startswith(f"{path}:3: ")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PerflabError, match="cannot read"):
        KernelConfig.load(tmp_path / "nope")


def test_invalid_symbol_name_in_api() -> None:
    config = KernelConfig()
    with pytest.raises(PerflabError, match="invalid kernel symbol name"):
        config.get("CONFIG_")
    with pytest.raises(PerflabError, match="invalid kernel symbol name"):
        config.set("A B", "y")


def test_atomic_write_leaves_old_file_when_it_fails(tmp_path: Path) -> None:
    target = tmp_path / "dir" / "config"
    target.parent.mkdir()
    target.write_text("CONFIG_OLD=y\n")
    os.chmod(target.parent, 0o500)
    try:
        if os.access(target.parent, os.W_OK):
            # root ignores directory permissions: make the rename fail on a directory instead
            os.chmod(target.parent, 0o700)
            (tmp_path / "dir2").mkdir()
            (tmp_path / "dir2" / "sub").mkdir()
            (tmp_path / "dir2" / "sub" / "f").write_text("x")
            with pytest.raises(PerflabError, match="cannot write"):
                write_atomic(tmp_path / "dir2" / "sub", "new")
            assert (tmp_path / "dir2" / "sub" / "f").read_text() == "x"
            assert [p.name for p in (tmp_path / "dir2").iterdir()] == ["sub"]  # no temp file left
        else:
            with pytest.raises(PerflabError, match="cannot write"):
                write_atomic(target, "new")
        assert target.read_text() == "CONFIG_OLD=y\n"
    finally:
        os.chmod(target.parent, 0o700)


@pytest.mark.parametrize("char", ["\f", "\u2028", "\u2029", "\x1c", "\x85", "\v"])
def test_line_separators_inside_a_quoted_value_stay_in_the_value(tmp_path: Path, char: str) -> None:
    """confdata.c ends a line at "\\n" only; str.splitlines() also splits at these (observed:
    "unterminated string" on a form feed inside a CONFIG_CMDLINE)."""
    text = f'CONFIG_CMDLINE="a{char}b"\nCONFIG_X=y\n'
    path = tmp_path / "config"
    path.write_text(text, encoding="utf-8")
    config = KernelConfig.load(path)
    assert config.get("CMDLINE") == f"a{char}b" and config.get("X") == "y"
    assert config.entry("X").line == 2
    assert config.dumps() == text


def test_crlf_lines_still_parse() -> None:
    config = KernelConfig.loads('CONFIG_A=y\r\n# c\r\nCONFIG_S="x"\r\n')
    assert config.get("A") == "y" and config.get("S") == "x"


def test_gzipped_config_loads_like_the_plain_one(tmp_path: Path) -> None:
    import gzip

    packed = tmp_path / "config.gz"
    packed.write_bytes(gzip.compress(DEBIAN_612.read_bytes()))
    assert KernelConfig.load(packed).as_dict() == KernelConfig.load(DEBIAN_612).as_dict()


def test_gzip_bomb_is_refused_after_the_limit(tmp_path: Path) -> None:
    import gzip

    from perflab.kernel.config import read_config_text

    bomb = tmp_path / "bomb.gz"
    bomb.write_bytes(gzip.compress(b"# x\n" * (1 << 20)))  # 4 MiB of text, ~10 KB compressed
    with pytest.raises(PerflabError, match=rf"^{bomb}: decompresses to more than the 1048576 bytes"):
        read_config_text(bomb, limit=1 << 20)


def test_devices_fifos_and_oversized_files_are_refused_without_reading(tmp_path: Path) -> None:
    with pytest.raises(PerflabError, match=r"^/dev/zero: a character device, not a kernel config"):
        KernelConfig.load("/dev/zero")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # no writer: a blocking read would hang here
    with pytest.raises(PerflabError, match=rf"^{fifo}: a FIFO, not a kernel config"):
        KernelConfig.load(fifo)
    huge = tmp_path / "huge.config"
    with huge.open("wb") as handle:
        handle.truncate(64 * 1024 * 1024)  # sparse: no disk used
    with pytest.raises(PerflabError, match=rf"^{huge}: kernel config is \d+ bytes, more than"):
        KernelConfig.load(huge)
