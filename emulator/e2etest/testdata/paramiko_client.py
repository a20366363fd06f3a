"""Runs CLI commands the way Cinder's InStorage driver does (mcs-cli.md §1.1):
one paramiko transport, strict host-key policy from a known_hosts file,
transport keepalive (keepalive@lag.net), one exec_command per command.

usage: paramiko_client.py HOST PORT USER PASSWORD KNOWN_HOSTS CMD...
prints a JSON list of {"stdout", "stderr", "status"}; password from argv is
test-only.
"""
import json
import sys

import paramiko


def main():
    host, port, user, password, known_hosts = sys.argv[1:6]
    client = paramiko.SSHClient()
    client.load_host_keys(known_hosts)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(host, port=int(port), username=user, password=password,
                   look_for_keys=False, allow_agent=False, timeout=30)
    client.get_transport().set_keepalive(1)
    out = []
    for cmd in sys.argv[6:]:
        stdin, stdout, stderr = client.exec_command(cmd, timeout=60)
        stdin.close()
        o = stdout.read().decode()
        e = stderr.read().decode()
        out.append({"stdout": o, "stderr": e, "status": stdout.channel.recv_exit_status()})
    client.close()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
