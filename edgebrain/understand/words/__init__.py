"""Reading in code: numbers, times, rooms, names, questions and clauses, from the schema's and registry's words."""
