"""What an ACP agent's connection adds: its sessions' settings and the files it may touch."""
