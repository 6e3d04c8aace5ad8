"""E-mailed summaries: who gets which (records), when (schedule), what (content, texts,
message) and the sending itself (delivery). `kanon summaries` is the command line over them.
"""
