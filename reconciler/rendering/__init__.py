"""Renderers: a plan or a report and a stream in, text out. None of them decides anything."""
