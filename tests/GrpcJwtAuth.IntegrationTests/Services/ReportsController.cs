using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;

namespace GrpcJwtAuth.IntegrationTests.Services;

/// <summary>
/// A REST controller next to the gRPC services, for the app shapes that mix them. Each action answers
/// <c>{scheme} {sub}</c>: the scheme whose ticket authenticated the request, and the caller's <c>sub</c> claim.
/// </summary>
[ApiController]
[Route("reports")]
public sealed class ReportsController : ControllerBase
{
    /// <summary>The app's default scheme.</summary>
    [Authorize]
    [HttpGet("mine")]
    public string Mine() => Describe();

    [Authorize(Roles = "admin")]
    [HttpGet("all")]
    public string All() => Describe();

    [Authorize(AuthenticationSchemes = GrpcJwtAuthDefaults.AuthenticationScheme)]
    [HttpGet("grpcjwtauth")]
    public string ByGrpcJwtAuth() => Describe();

    [Authorize(AuthenticationSchemes = JwtBearerDefaults.AuthenticationScheme)]
    [HttpGet("jwtbearer")]
    public string ByJwtBearer() => Describe();

    private string Describe()
    {
        var scheme = HttpContext.Features.Get<IAuthenticateResultFeature>()?.AuthenticateResult?.Ticket?.AuthenticationScheme;
        return $"{scheme} {User.FindFirst("sub")?.Value}";
    }
}
