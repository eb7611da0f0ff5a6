#!/usr/bin/env python3
"""The retention soak (millwright-bench retention-soak) on SQLite, or with --postgres on a
PostgreSQL this script starts (initdb into a temporary directory, a free port), like the tests do.
Other options pass through to the driver. Run with bench/retention-soak.
"""
import os, shutil, subprocess, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import revision
from central_replicas import Postgres

def main():
    args = sys.argv[1:]
    bin_dir = ".build/release"
    if "--bin-dir" in args:
        i = args.index("--bin-dir"); bin_dir = args[i + 1]; del args[i:i + 2]
    postgres = "--postgres" in args
    if postgres: args.remove("--postgres")
    driver = [os.path.join(bin_dir, "millwright-bench"), "retention-soak"] + args
    print(f"revision {revision()}")
    if not postgres:
        sys.exit(subprocess.run(driver).returncode)
    workdir = tempfile.mkdtemp(prefix="millwright-soak-")
    os.chmod(workdir, 0o755)
    pg = None
    try:
        pg = Postgres(workdir)
        pg.psql("postgres", "CREATE DATABASE soak")
        code = subprocess.run(driver + ["--postgres-port", str(pg.port), "--database", "soak"]).returncode
    finally:
        if pg: pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(code)

if __name__ == "__main__":
    main()
