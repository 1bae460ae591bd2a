"""`hermetic audit`: the hazards of ML repositories, found in any repository.

One module per family of rules under rules/; a rule is data (model.Rule) plus its family's
check function. engine.run_audit runs them; report renders text, JSON or SARIF.
"""
