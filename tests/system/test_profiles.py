"""Profiles: shipped ones load, include inheritance, search order, file:line errors. Reads only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from perflab.errors import PerflabError
from perflab.system.knobs import KNOBS
from perflab.system.profiles import SHIPPED, list_profiles, load_profile

SHIPPED_NAMES = {"throughput", "latency", "network-throughput", "network-latency", "benchmark", "p2p-node"}


def test_every_shipped_profile_loads_and_names_known_knobs() -> None:
    assert set(list_profiles()) >= SHIPPED_NAMES
    for name in SHIPPED_NAMES:
        profile = load_profile(name)
        assert profile.settings and profile.description
        assert set(profile.settings) <= set(KNOBS)


def test_benchmark_profile_states_its_aslr_policy() -> None:
    text = (SHIPPED / "benchmark.toml").read_text()
    assert "ASLR policy" in text
    assert load_profile("benchmark").settings["kernel.randomize_va_space"] == "2"


def test_p2p_node_inherits_and_overrides() -> None:
    profile = load_profile("p2p-node")
    assert [p.name for p in profile.source] == ["throughput.toml", "network-throughput.toml", "p2p-node.toml"]
    assert profile.settings["net.ipv4.tcp_congestion_control"].startswith("bbr")
    assert profile.settings["transparent_hugepage.enabled"] == "madvise"  # overrides throughput's "always"
    assert profile.settings["net.core.rmem_max"] == ">=33554432"  # overrides network-throughput
    assert profile.settings["vm.dirty_ratio"] == "40"  # inherited from throughput


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_include_chain_with_nested_tables_and_lists(tmp_path: Path) -> None:
    _write(tmp_path / "base.toml", '[settings]\nvm.swappiness = 30\n"vm.dirty_ratio" = 20\n')
    _write(tmp_path / "mid.toml", 'include = "base"\n[settings]\nvm.swappiness = 20\n')
    child = _write(
        tmp_path / "child.toml",
        'include = ["mid"]\ndescription = "c"\n[settings]\nnet.ipv4.tcp_rmem = [4096, 87380, 6291456]\n'
        '"vm.dirty_bytes" = ">=1000000"\n',
    )
    profile = load_profile(profile_file=child)
    assert profile.settings == {
        "vm.swappiness": "20",
        "net.ipv4.tcp_rmem": "4096 87380 6291456",
        "vm.dirty_bytes": ">=1000000",  # replaces the inherited partner vm.dirty_ratio
    }
    assert [p.name for p in profile.source] == ["base.toml", "mid.toml", "child.toml"]


def test_include_cycle_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path / "a.toml", 'include = "b"\n[settings]\nvm.swappiness = 1\n')
    _write(tmp_path / "b.toml", 'include = "a"\n')
    with pytest.raises(PerflabError, match=r"b\.toml:1: include cycle: a\.toml → b\.toml → a\.toml"):
        load_profile(profile_file=tmp_path / "a.toml")


def test_malformed_toml_names_file_and_line(tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.toml", "[settings]\nvm.swappiness = 10\nnet.core.somaxconn = = 4\n")
    with pytest.raises(PerflabError) as caught:
        load_profile(profile_file=bad)
    assert caught.value.message.startswith(f"{bad}:3: malformed TOML")


def test_unknown_knob_names_file_and_line(tmp_path: Path) -> None:
    bad = _write(
        tmp_path / "bad.toml", '# comment\n[settings]\nvm.swappiness = 10\n"kernel.core_pattern" = "|sh"\n'
    )
    with pytest.raises(PerflabError, match=r"bad\.toml:4: unknown knob 'kernel.core_pattern'"):
        load_profile(profile_file=bad)


def test_bad_value_names_file_and_line(tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.toml", '[settings]\n\n"vm.swappiness" = "lots"\n')
    with pytest.raises(PerflabError, match=r"bad\.toml:3: vm\.swappiness takes an integer"):
        load_profile(profile_file=bad)
    worse = _write(tmp_path / "worse.toml", '[settings]\n"net.ipv4.tcp_congestion_control" = ">=3"\n')
    with pytest.raises(PerflabError, match=r"worse\.toml:2: .*'>=' needs a numeric knob"):
        load_profile(profile_file=worse)


def test_shipped_profiles_win_over_same_named_local_ones(tmp_path: Path, monkeypatch) -> None:
    """Before the fix ./.perflab/profiles/latency.toml (owned by anyone) replaced the shipped one for root."""
    local = tmp_path / ".perflab" / "profiles"
    local.mkdir(parents=True)
    _write(local / "latency.toml", 'description = "mine"\n[settings]\nvm.swappiness = 5\n')
    _write(local / "mine.toml", 'include = "throughput"\n[settings]\nvm.swappiness = 7\n')
    monkeypatch.chdir(tmp_path)
    assert load_profile("latency").source == [SHIPPED / "latency.toml"]
    assert list_profiles()["latency"] == SHIPPED / "latency.toml"
    named = load_profile(profile_file=local / "latency.toml")  # naming the file picks the local one
    assert named.description == "mine"
    mine = load_profile("mine")  # a local name no shipped profile has is still found
    assert mine.settings["vm.swappiness"] == "7" and mine.source[0] == SHIPPED / "throughput.toml"


def test_local_profile_writable_by_others_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = tmp_path / ".perflab" / "profiles"
    local.mkdir(parents=True)
    _write(local / "mine.toml", "[settings]\nvm.swappiness = 7\n").chmod(0o666)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PerflabError, match=r"refusing local profile: .*mine\.toml: writable by group or"):
        load_profile("mine")


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root (CI is root)")
def test_local_profile_owned_by_another_user_is_refused(tmp_path: Path, monkeypatch) -> None:
    local = tmp_path / ".perflab" / "profiles"
    local.mkdir(parents=True)
    planted = _write(local / "mine.toml", "[settings]\nvm.swappiness = 7\n")
    os.chown(planted, 65534, 65534)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PerflabError, match=r"refusing local profile: .*owned by .*uid 65534"):
        load_profile("mine")


def test_hostile_profiles_get_one_line(tmp_path: Path) -> None:
    deep = _write(tmp_path / "deep.toml", "x = " + "[" * 3000 + "]" * 3000 + "\n")
    huge = _write(tmp_path / "huge.toml", '[settings]\n"vm.swappiness" = "' + "1" * 5000 + '"\n')
    big = _write(tmp_path / "big.toml", '[settings]\n"vm.swappiness" = "' + "1" * (2 << 20) + '"\n')
    large_int = _write(tmp_path / "int.toml", "[settings]\n\"vm.swappiness\" = " + "9" * 5000 + "\n")
    cases = ((deep, "nested too deeply"), (huge, "value of 5000 characters"),
             (big, "more than the 1048576 bytes allowed"), (large_int, "malformed TOML: Exceeds the limit"))
    for path, message in cases:
        with pytest.raises(PerflabError, match=message) as caught:
            load_profile(profile_file=path)
        assert "\n" not in caught.value.message


def test_cli_apply_says_which_file_each_profile_came_from() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "perflab", "system", "apply", "p2p-node", "--dry-run"],
                          capture_output=True, text=True)
    assert f"profile p2p-node from {SHIPPED / 'throughput.toml'}, " in done.stdout.replace("\n", "")


def test_unknown_profile_lists_where_it_looked() -> None:
    with pytest.raises(PerflabError, match="no profile 'nosuch' \\(looked in"):
        load_profile("nosuch")
