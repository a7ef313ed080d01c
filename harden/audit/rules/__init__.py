"""Rules as data: the model, the pack loader, the CEL dialect and the evaluator."""
