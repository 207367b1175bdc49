"""Stage 1, event -> record: the hook process. [stdlib]"""
