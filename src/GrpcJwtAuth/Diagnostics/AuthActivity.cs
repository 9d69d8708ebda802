using System.Diagnostics;
using GrpcJwtAuth.Server;

namespace GrpcJwtAuth.Diagnostics;

/// <summary>
/// Tags the current <see cref="Activity"/> (ASP.NET Core's request activity, which grpc-dotnet tags too) with the
/// decision on the call. Only when a listener asked for its data: otherwise the cost is one async-local read.
/// </summary>
internal static class AuthActivity
{
    public const string OutcomeTag = "grpcjwtauth.outcome";
    public const string ReasonTag = "grpcjwtauth.reason";

    /// <summary>OpenTelemetry's end-user id: the <c>sub</c> of a validated token, never of a rejected one.</summary>
    public const string SubjectTag = "enduser.id";

    /// <summary>
    /// Records a decision. <paramref name="validatedSubject"/> must come from a token that passed validation: a
    /// rejected token's claims are whatever the sender wrote.
    /// </summary>
    public static void Record(AuthFailure failure, string? validatedSubject)
    {
        if (Activity.Current is not { IsAllDataRequested: true } activity)
        {
            return;
        }

        activity.SetTag(OutcomeTag, Metrics.Outcome(failure));
        activity.SetTag(ReasonTag, AuthFailures.Get(failure).Tag);
        if (validatedSubject is not null)
        {
            activity.SetTag(SubjectTag, validatedSubject);
        }
    }

    public static void RecordAnonymous()
    {
        if (Activity.Current is { IsAllDataRequested: true } activity)
        {
            activity.SetTag(OutcomeTag, Metrics.Outcomes.Allowed);
            activity.SetTag(ReasonTag, Metrics.AnonymousReason);
        }
    }
}
