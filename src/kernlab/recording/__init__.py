"""Recordings: the recorder that writes them and the layout every reader shares."""
