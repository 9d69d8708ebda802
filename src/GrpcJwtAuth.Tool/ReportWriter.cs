namespace GrpcJwtAuth.Tool;

/// <summary>How one step came out.</summary>
internal enum StepResult
{
    Ok,
    Fail,

    /// <summary>Shown for information, or not checkable here.</summary>
    Info,
}

/// <summary>Writes the numbered steps: <c>3. issuer: ok</c>, then the step's details indented below it. Plain ASCII markers.</summary>
internal sealed class ReportWriter(TextWriter output)
{
    private int _step;

    public void Line(string text) => output.WriteLine(text);

    public void Step(string name, StepResult result, string summary)
    {
        _step++;
        var marker = result switch
        {
            StepResult.Ok => "ok",
            StepResult.Fail => "FAIL",
            _ => "--",
        };
        output.WriteLine($"{_step}. {name}: {marker}  {summary}");
    }

    public void Detail(string text) => output.WriteLine($"   {text}");
}
