namespace GrpcJwtAuth.LoadTest.Load;

/// <summary>
/// What the generator counted in one phase. Every call lands in exactly one of: <see cref="Ok"/>,
/// <see cref="RejectedAsExpected"/>, <see cref="ValidRejected"/>, <see cref="InvalidAccepted"/>,
/// <see cref="WrongSubject"/> and <see cref="Unexpected"/>.
/// </summary>
internal sealed record GeneratorReport(
    long Calls,
    long Ok,
    long RejectedAsExpected,
    long ValidRejected,
    long InvalidAccepted,
    long WrongSubject,
    Dictionary<string, long> Unexpected,
    double ElapsedSeconds,
    double CpuSeconds,
    bool TokensExhausted,
    int DistinctTokens,
    long WorkingSetBytes)
{
    /// <summary>Accepted what it must refuse, refused what it must accept, or answered for the wrong caller.</summary>
    public long WrongDecisions => ValidRejected + InvalidAccepted + WrongSubject;

    public long UnexpectedErrors => Unexpected.Values.Sum();

    /// <summary>Every call whose outcome was not the expected one.</summary>
    public long Errors => WrongDecisions + UnexpectedErrors;

    /// <summary>Calls that ended with the expected decision, per second.</summary>
    public double CorrectPerSecond => ElapsedSeconds > 0 ? (Ok + RejectedAsExpected) / ElapsedSeconds : 0;

    /// <summary>The generator's CPU time as a share of its one core.</summary>
    public double CpuPercent => ElapsedSeconds > 0 ? 100 * CpuSeconds / ElapsedSeconds : 0;
}
