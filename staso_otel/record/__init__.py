"""Stage 1/2 boundary: durable facts on disk (journals, cursors, state). [stdlib]"""
