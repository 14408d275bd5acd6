// The pipeline (Explain, ExplainOptions) is what nearly every test calls.
global using Attribution.Pipeline;
