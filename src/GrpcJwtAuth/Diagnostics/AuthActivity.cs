using System.Diagnostics;
using GrpcJwtAuth.Server;

namespace GrpcJwtAuth.Diagnostics;

/// <summary>
/// Tags the current <see cref="Activity"/> (ASP.NET Core's request activity, which grpc-dotnet tags too) with the
/// decision on the call: <c>grpcjwtauth.outcome</c>, and <c>error.type</c> when the call was refused. Only when a
/// listener asked for its data: otherwise the cost is one async-local read.
/// </summary>
internal static class AuthActivity
{
    public const string OutcomeTag = Metrics.OutcomeTag;
    public const string ErrorTypeTag = Metrics.ErrorTypeTag;

    /// <summary>
    /// OpenTelemetry's user id (<c>enduser.id</c> is deprecated): the <c>sub</c> of a validated token, never of a
    /// rejected one, and only when <see cref="GrpcJwtAuthOptions.RecordUserId"/> is on: it is personal data.
    /// </summary>
    public const string UserIdTag = "user.id";

    /// <summary>
    /// Records a decision. <paramref name="validatedSubject"/> must come from a token that passed validation (a
    /// rejected token's claims are whatever the sender wrote), and be passed only when the user opted in.
    /// </summary>
    public static void Record(AuthFailure failure, string? validatedSubject)
    {
        if (Activity.Current is not { IsAllDataRequested: true } activity)
        {
            return;
        }

        activity.SetTag(OutcomeTag, Metrics.Outcome(failure));
        if (failure != AuthFailure.None)
        {
            activity.SetTag(ErrorTypeTag, AuthFailures.Get(failure).Tag);
        }

        if (validatedSubject is not null)
        {
            activity.SetTag(UserIdTag, validatedSubject);
        }
    }

    public static void RecordAnonymous(string? validatedSubject)
    {
        if (Activity.Current is { IsAllDataRequested: true } activity)
        {
            activity.SetTag(OutcomeTag, Metrics.Outcomes.Anonymous);
            if (validatedSubject is not null)
            {
                activity.SetTag(UserIdTag, validatedSubject);
            }
        }
    }
}
