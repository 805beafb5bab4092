"""Imports of a person's history: Apple Health, FHIR R4 and Health Connect files, read by a worker.

Each format is one module that turns the file into `Record`s (records.py) and says whether the file is whole;
`run.py` stores them through the same validation as manual entry, in chunks.
"""
